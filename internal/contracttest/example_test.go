package contracttest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/pressluft/runtime-readiness/internal/contracttest"
)

func ExampleValidateResponse() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"code":"not_found","message":"no such job"}`)
	})
	for _, path := range []string{"/api/jobs/0b6f2d4e-5a8c-4c1e-9f3a-2d7b8e6c1a90", "/api/nowhere", "/api/jobs"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		err := contracttest.ValidateResponse(req, rec.Code, rec.Header(), rec.Body.Bytes())
		fmt.Println(path, err == nil)
	}
	// Output:
	// /api/jobs/0b6f2d4e-5a8c-4c1e-9f3a-2d7b8e6c1a90 true
	// /api/nowhere true
	// /api/jobs false
}

func ExampleValidateBody() {
	fmt.Println(contracttest.ValidateBody("Error", []byte(`{"code":"not_found","message":"m"}`)) == nil)
	fmt.Println(contracttest.ValidateBody("Error", []byte(`{"code":"gone","message":"m"}`)) == nil)
	// Output:
	// true
	// false
}

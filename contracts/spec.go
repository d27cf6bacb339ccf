package contracts

import _ "embed"

//go:embed openapi.yaml
var spec []byte

// Spec returns the OpenAPI 3.0 document (YAML) the API is served by, as
// embedded at build time. The caller gets its own copy.
func Spec() []byte { return append([]byte(nil), spec...) }

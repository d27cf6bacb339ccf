package apihttp

import (
	"encoding/json"
	"strings"
	"testing"
)

var nodeIDCases = []struct {
	body    string
	wantID  string
	wantOK  bool
	wantMsg string
}{
	{`{"node_id":"n1"}`, "n1", true, ""},
	{` {"name":"a", "node_id" : "n1" , "x":[1,{"node_id":"inner"}]} `, "n1", true, ""},
	{`{"x":{"node_id":"inner"}}`, "", false, ""},
	{`{"node_id":"a","node_id":"b"}`, "b", true, ""},
	{`{"NODE_ID":"upper"}`, "upper", true, ""},
	{`{"Node_Id":"mixed","node_id":"last"}`, "last", true, ""},
	{`{"node\u005fid":"escaped-name"}`, "escaped-name", true, ""},
	{`{"node_ıd":"dotless"}`, "", false, ""}, // not folded to node_id
	{`{"node_id":"esc\"aped\u00e9"}`, "esc\"apedé", true, ""},
	{`{"node_id":null}`, "", false, ""},
	{`{"node_id":""}`, "", false, "node_id must not be empty"},
	{`{"node_id":7}`, "", false, "node_id must be a string"},
	{`{"node_id":true}`, "", false, "node_id must be a string"},
	{`{"node_id":["a"]}`, "", false, "node_id must be a string"},
	{`{"node_id":{"a":"b"}}`, "", false, "node_id must be a string"},
	{`{}`, "", false, ""},
	{`{"a":"}","b":"\\","node_id":"n"}`, "n", true, ""},
	{`{"node_id":"n"`, "", false, "malformed JSON body"},
	{`{"node_id":"n"} x`, "", false, "malformed JSON body"},
	{`[]`, "", false, "request body must be a JSON object"},
	{``, "", false, "request body must be a JSON object"},
	{`null`, "", false, "request body must be a JSON object"},
	{"{\"node_id\":\"\xff\"}", "\ufffd", true, ""},
}

func TestBodyNodeID(t *testing.T) {
	t.Parallel()
	for _, tt := range nodeIDCases {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			id, ok, msg := bodyNodeID([]byte(tt.body))
			if id != tt.wantID || ok != tt.wantOK || msg != tt.wantMsg {
				t.Errorf("got (%q, %v, %q), want (%q, %v, %q)", id, ok, msg, tt.wantID, tt.wantOK, tt.wantMsg)
			}
			sid, sok, smsg := bodyNodeIDSlow([]byte(tt.body))
			if id != sid || ok != sok || msg != smsg {
				t.Errorf("encoding/json reads (%q, %v, %q), the scanner (%q, %v, %q)", sid, sok, smsg, id, ok, msg)
			}
		})
	}
}

// FuzzBodyNodeID: the scanner reads node_id exactly as encoding/json
// does, for any input.
func FuzzBodyNodeID(f *testing.F) {
	for _, tt := range nodeIDCases {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, ok, msg := bodyNodeID(body)
		sid, sok, smsg := bodyNodeIDSlow(body)
		if id != sid || ok != sok || msg != smsg {
			t.Errorf("body %q: encoding/json reads (%q, %v, %q), the scanner (%q, %v, %q)", body, sid, sok, smsg, id, ok, msg)
		}
	})
}

var validJSONCases = []string{
	``, ` `, `{}`, `[]`, `""`, `"a"`, `0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1.5e+`,
	`-01`, `0x1`, `1 2`, `true`, `tru`, `truex`, `false`, `null`, `nul`, `NaN`, `Infinity`,
	`{"a":1,}`, `{"a":1,"b":[1,2,{"c":null}]}`, `{"a" 1}`, `{a:1}`, `{"a":}`, `{,"a":1}`, `[1,]`, `[,1]`, `[1 2]`,
	`"\u00e9\n\t\"\\\/\b\f\r"`, `"\u00g9"`, `"\u00e"`, `"\x"`, `"\`, `"abc`, "\"a\tb\"", "\"a\x00b\"", "\"\xff\xfe\"",
	"\t\r\n {\"a\" :\n1 }\n", `{"a":1}}`, `[[[]]]`, `[[[]]`, `{"a":{"b":{}}}`, "\x00", "{\"a\":1}\x00",
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, c := range validJSONCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("%q: got valid %v, json.Valid says %v", c, got, want)
		}
	}
}

// encoding/json refuses more than 10,000 nested arrays and objects; so
// does the scanner, and the guard's body check with it.
func TestValidJSONDepthLimit(t *testing.T) {
	t.Parallel()
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			close := map[string]string{"[": "]", `{"a":`: "}"}[open]
			b := []byte(strings.Repeat(open, depth) + strings.Repeat(close, depth))
			if got, want := validJSON(b), json.Valid(b); got != want {
				t.Errorf("depth %d of %q: got valid %v, json.Valid says %v", depth, open, got, want)
			}
			body := []byte(`{"node_id":"n","x":` + string(b[len(open):len(b)-len(close)]) + `}`)
			_, _, msg := bodyNodeID(body)
			_, _, smsg := bodyNodeIDSlow(body)
			if msg != smsg {
				t.Errorf("depth %d of %q in a body: got %q, encoding/json %q", depth, open, msg, smsg)
			}
		}
	}
}

// FuzzValidJSON: the guard's pass accepts exactly what json.Valid does.
func FuzzValidJSON(f *testing.F) {
	for _, c := range validJSONCases {
		f.Add([]byte(c))
	}
	for _, tt := range nodeIDCases {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Errorf("%q: got valid %v, json.Valid says %v", b, got, want)
		}
	})
}

// A body with plain member names costs one allocation: the id.
func TestBodyNodeIDAllocations(t *testing.T) {
	body := []byte(`{"name":"Blog","slug":"blog","node_id":"node-1","tags":["a",{"b":1.5e3}]}`)
	allocs := testing.AllocsPerRun(100, func() {
		if id, ok, msg := bodyNodeID(body); id != "node-1" || !ok || msg != "" {
			t.Fatalf("got (%q, %v, %q)", id, ok, msg)
		}
	})
	if allocs != 1 {
		t.Errorf("got %v allocations, want 1 (the id)", allocs)
	}
}

package apihttp

import (
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

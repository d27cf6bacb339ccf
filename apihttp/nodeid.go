package apihttp

import (
	"encoding/json"
)

// bodyNodeID reads node_id from a JSON object body exactly as
// encoding/json (and so a host handler decoding the same body with it)
// reads it: the last member whose name matches "node_id" case-insensitively
// wins, and a null value counts as absent. It returns a client-safe
// message for a body that is not a JSON object, malformed JSON, or a
// node_id that is not a non-empty string.
//
// The common case (plain ASCII member names and an unescaped ASCII
// value) is read by a small scanner over the validated body without
// allocating more than the id; anything else falls back to
// json.Unmarshal. FuzzBodyNodeID checks that both agree.
func bodyNodeID(body []byte) (id string, given bool, msg string) {
	if !isObject(body) {
		return "", false, "request body must be a JSON object"
	}
	if !json.Valid(body) {
		return "", false, "malformed JSON body"
	}
	raw, ok := scanNodeID(body)
	if !ok {
		return bodyNodeIDSlow(body)
	}
	return nodeIDValue(raw)
}

// bodyNodeIDSlow is the reference: encoding/json itself.
func bodyNodeIDSlow(body []byte) (string, bool, string) {
	if !isObject(body) {
		return "", false, "request body must be a JSON object"
	}
	var v struct {
		NodeID json.RawMessage `json:"node_id"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", false, "malformed JSON body"
	}
	return nodeIDValue(v.NodeID)
}

// nodeIDValue interprets node_id's raw JSON value.
func nodeIDValue(raw []byte) (string, bool, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, ""
	}
	if raw[0] != '"' {
		return "", false, "node_id must be a string"
	}
	var id string
	if plainString(raw) {
		id = string(raw[1 : len(raw)-1])
	} else if err := json.Unmarshal(raw, &id); err != nil {
		return "", false, "malformed JSON body"
	}
	if id == "" {
		return "", false, "node_id must not be empty"
	}
	return id, true, ""
}

// plainString reports whether a JSON string literal holds only printable
// ASCII without escapes, so its bytes are its value.
func plainString(raw []byte) bool {
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

// scanNodeID walks the members of a valid JSON object and returns the raw
// value of the last one named node_id (ASCII case-insensitive), or nil.
// ok is false when a member name has an escape or a non-ASCII byte: then
// only encoding/json's own name folding gives the right answer.
func scanNodeID(b []byte) (raw []byte, ok bool) {
	i := skipSpace(b, 0) + 1 // past '{'
	for {
		i = skipSpace(b, i)
		if b[i] == '}' {
			return raw, true
		}
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		// A member name.
		start := i + 1
		end := start
		for b[end] != '"' {
			if b[end] == '\\' || b[end] >= 0x80 {
				return nil, false
			}
			end++
		}
		i = skipSpace(b, end+1) + 1 // past ':'
		i = skipSpace(b, i)
		vstart := i
		i = skipValue(b, i)
		if isNodeID(b[start:end]) {
			raw = b[vstart:i]
		}
	}
}

func isNodeID(name []byte) bool {
	const want = "node_id"
	if len(name) != len(want) {
		return false
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipValue returns the index just past the valid JSON value at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return i
			}
			i++
		}
		return i
	}
}

// skipString returns the index just past the string literal at b[i].
func skipString(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

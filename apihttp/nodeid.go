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
// One pass validates the body as json.Valid does and finds the member;
// only a top-level member name with an escape or a non-ASCII byte (where
// encoding/json's own name folding decides) or a node_id value with
// escapes falls back to json.Unmarshal. FuzzBodyNodeID checks that both
// agree, FuzzValidJSON that the pass accepts exactly what json.Valid does.
func bodyNodeID(body []byte) (id string, given bool, msg string) {
	if !isObject(body) {
		return "", false, "request body must be a JSON object"
	}
	s := jsonScan{b: body, capture: true, plainNames: true}
	s.space()
	if !s.value() || !s.end() {
		return "", false, "malformed JSON body"
	}
	if !s.plainNames {
		return bodyNodeIDSlow(body)
	}
	return nodeIDValue(s.nodeID)
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
	} else if u, ok := unquote(raw); ok {
		id = u
	} else {
		return "", false, "malformed JSON body"
	}
	if id == "" {
		return "", false, "node_id must not be empty"
	}
	return id, true, ""
}

// unquote decodes a string literal with escapes as encoding/json does
// (its own function, so the fast path's id does not escape to the heap).
func unquote(raw []byte) (string, bool) {
	var u string
	err := json.Unmarshal(raw, &u)
	return u, err == nil
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

// jsonScan is one validating pass over JSON text, accepting exactly what
// json.Valid accepts (RFC 8259, with bytes >= 0x80 in strings taken as
// they are, and at most maxDepth nested arrays and objects). It keeps its
// own stack of open containers, so a deeply nested body costs a byte per
// level, not a stack frame. With capture set it keeps, in the top-level
// object, the raw value of the last member named node_id, ASCII
// case-insensitively.
type jsonScan struct {
	b []byte
	i int

	capture bool
	// nodeID is the raw value of the last top-level node_id member.
	nodeID []byte
	// plainNames is false once a top-level member name has an escape or a
	// byte >= 0x80: then only encoding/json's folding names the member.
	plainNames bool
	// pending: the top-level member being read is named node_id, and its
	// value starts at vstart.
	pending bool
	vstart  int
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// validJSON reports whether b is one JSON value, as json.Valid does.
func validJSON(b []byte) bool {
	s := jsonScan{b: b}
	s.space()
	return s.value() && s.end()
}

// end reports whether only whitespace is left.
func (s *jsonScan) end() bool {
	s.space()
	return s.i == len(s.b)
}

// peek returns the next byte, or 0 (valid nowhere) at the end.
func (s *jsonScan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *jsonScan) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// value reads the value starting at s.i (not whitespace), containers and
// all.
func (s *jsonScan) value() bool {
	var buf [64]bool
	open := buf[:0] // the open containers, innermost last: true for an object
	for {
		// A value starts at s.i.
		switch c := s.peek(); {
		case c == '{' || c == '[':
			if len(open) == maxDepth {
				return false
			}
			closer := byte(']')
			if c == '{' {
				closer = '}'
			}
			s.i++
			s.space()
			if s.peek() == closer {
				s.i++
				break // empty: a complete value
			}
			open = append(open, c == '{')
			if c == '{' && !s.member(len(open) == 1) {
				return false
			}
			continue
		case c == '"':
			if _, ok := s.str(); !ok {
				return false
			}
		case c == 't':
			if !s.literal("true") {
				return false
			}
		case c == 'f':
			if !s.literal("false") {
				return false
			}
		case c == 'n':
			if !s.literal("null") {
				return false
			}
		case c == '-' || '0' <= c && c <= '9':
			if !s.number() {
				return false
			}
		default:
			return false
		}
		// A value ended at s.i: close the containers it completes, up to
		// the next value.
		for {
			if s.pending && len(open) == 1 {
				s.nodeID, s.pending = s.b[s.vstart:s.i], false
			}
			if len(open) == 0 {
				return true
			}
			s.space()
			object := open[len(open)-1]
			c := s.peek()
			if c == ',' {
				s.i++
				s.space()
				if object && !s.member(len(open) == 1) {
					return false
				}
				break
			}
			if object && c != '}' || !object && c != ']' {
				return false
			}
			s.i++
			open = open[:len(open)-1]
		}
	}
}

// member reads an object member's name and colon, up to its value.
func (s *jsonScan) member(top bool) bool {
	if s.peek() != '"' {
		return false
	}
	start := s.i
	plain, ok := s.str()
	if !ok {
		return false
	}
	name := s.b[start+1 : s.i-1]
	s.space()
	if s.peek() != ':' {
		return false
	}
	s.i++
	s.space()
	if top && s.capture {
		switch {
		case !plain:
			s.plainNames = false
		case isNodeID(name):
			s.pending, s.vstart = true, s.i
		}
	}
	return true
}

// str reads a string literal; plain is false when it holds an escape or a
// byte >= 0x80.
func (s *jsonScan) str() (plain, ok bool) {
	plain = true
	for s.i++; s.i < len(s.b); {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return plain, true
		case c == '\\':
			plain = false
			if !s.escape() {
				return false, false
			}
		case c < 0x20:
			return false, false
		default:
			if c >= 0x80 {
				plain = false
			}
			s.i++
		}
	}
	return false, false
}

// escape reads one escape sequence starting at its backslash.
func (s *jsonScan) escape() bool {
	s.i++
	switch s.peek() {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i++
		return true
	case 'u':
		if len(s.b)-s.i < 5 {
			return false
		}
		for _, h := range s.b[s.i+1 : s.i+5] {
			if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
				return false
			}
		}
		s.i += 5
		return true
	}
	return false
}

func (s *jsonScan) literal(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScan) number() bool {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more decimal digits.
func (s *jsonScan) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
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

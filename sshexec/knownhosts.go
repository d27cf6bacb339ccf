package sshexec

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// maxKnownHostsLine bounds one known_hosts line; real lines are well
// under 16 KiB even for large RSA keys.
const maxKnownHostsLine = 64 << 10

// KnownHostsFile reads an OpenSSH known_hosts file; see ParseKnownHosts.
func KnownHostsFile(path string) (HostKeyPolicy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sshexec: known_hosts: %w", err)
	}
	defer f.Close()
	return asPolicy(parseKnownHosts(f, path))
}

// ParseKnownHosts reads an OpenSSH known_hosts file strictly: any line it
// cannot fully parse is an error naming the line number, so a damaged
// file is found up front rather than read as "host unknown".
//
// Supported: comments and blank lines; comma-separated host patterns with
// the wildcards * and ? and negation !; the [host]:port form for ports
// other than 22; hashed hosts (|1|salt|hash); the @revoked marker (a
// revoked key, or a certificate authority, is rejected for every host);
// and @cert-authority lines, whose key is trusted to sign host
// certificates for the hosts the line's patterns match (see the package
// documentation, "Host certificates"). Host names match
// case-insensitively, against the Target's Host as given (no reverse
// lookup, no CheckHostIP).
func ParseKnownHosts(r io.Reader) (HostKeyPolicy, error) {
	return asPolicy(parseKnownHosts(r, ""))
}

// asPolicy returns db as a policy, or a nil policy (not a nil *knownHosts
// in one) with err.
func asPolicy(db *knownHosts, err error) (HostKeyPolicy, error) {
	if err != nil {
		return nil, err
	}
	return db, nil
}

func parseKnownHosts(r io.Reader, name string) (*knownHosts, error) {
	prefix := "sshexec: known_hosts"
	if name != "" {
		prefix += " " + name
	}
	db := &knownHosts{revoked: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxKnownHostsLine)
	n := 0
	for sc.Scan() {
		n++
		if err := db.parseLine(sc.Bytes()); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", prefix, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s: line %d: line too long", prefix, n+1)
		}
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	return db, nil
}

// knownHosts is a parsed known_hosts file.
type knownHosts struct {
	entries []knownHostsEntry // plain host keys
	cas     []knownHostsEntry // @cert-authority lines
	revoked map[string]bool   // by marshaled key
}

type knownHostsEntry struct {
	hashed   *hashedHost // set for |1|salt|hash entries
	patterns []hostPattern
	key      ssh.PublicKey
}

type hostPattern struct {
	negate bool
	glob   string // lowercased, [host]:22 normalized to host
}

type hashedHost struct{ salt, sum []byte }

func (db *knownHosts) parseLine(line []byte) error {
	if !isValidText(line) {
		return errors.New("invalid characters")
	}
	fields := strings.Fields(string(line))
	if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
		return nil
	}
	marker := ""
	if strings.HasPrefix(fields[0], "@") {
		marker = fields[0]
		fields = fields[1:]
		if marker != "@revoked" && marker != "@cert-authority" {
			return fmt.Errorf("unknown marker %q", truncate(marker, 32))
		}
	}
	if len(fields) < 3 {
		return errors.New("want HOSTS KEYTYPE BASE64-KEY")
	}
	key, err := parseKnownKey(fields[1], fields[2])
	if err != nil {
		return err
	}
	var e knownHostsEntry
	e.key = key
	if strings.HasPrefix(fields[0], "|") {
		h, err := parseHashedHost(fields[0])
		if err != nil {
			return err
		}
		e.hashed = h
	} else {
		e.patterns, err = parseHostPatterns(fields[0])
		if err != nil {
			return err
		}
	}
	switch marker {
	case "@revoked":
		db.revoked[string(plainKey(key).Marshal())] = true
	case "@cert-authority":
		if _, ok := key.(*ssh.Certificate); ok {
			return errors.New("a certificate authority key must be a plain key, not a certificate")
		}
		db.cas = append(db.cas, e)
	default:
		db.entries = append(db.entries, e)
	}
	return nil
}

func isValidText(line []byte) bool {
	for _, c := range line {
		if c == 0 || (c < 0x20 && c != '\t' && c != '\r') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func parseKnownKey(typ, b64 string) (ssh.PublicKey, error) {
	blob, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("key is not valid base64")
	}
	key, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return nil, fmt.Errorf("invalid %s key: %w", truncate(typ, 40), err)
	}
	if key.Type() != typ {
		return nil, fmt.Errorf("key type %q does not match key data (%s)", truncate(typ, 40), key.Type())
	}
	return key, nil
}

func parseHashedHost(s string) (*hashedHost, error) {
	parts := strings.Split(s, "|")
	// "|1|salt|hash" splits into "", "1", salt, hash.
	if len(parts) != 4 || parts[0] != "" || parts[1] != "1" {
		return nil, errors.New("invalid hashed host (want |1|SALT|HASH)")
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[2])
	sum, err2 := base64.StdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) != sha1.Size || len(sum) != sha1.Size {
		return nil, errors.New("invalid hashed host (bad salt or hash)")
	}
	return &hashedHost{salt: salt, sum: sum}, nil
}

func parseHostPatterns(s string) ([]hostPattern, error) {
	var ps []hostPattern
	positive := false
	for _, raw := range strings.Split(s, ",") {
		p := hostPattern{}
		if strings.HasPrefix(raw, "!") {
			p.negate = true
			raw = raw[1:]
		}
		if raw == "" {
			return nil, errors.New("empty host pattern")
		}
		if strings.ContainsAny(raw, "|@") {
			return nil, fmt.Errorf("invalid host pattern %q", truncate(raw, 64))
		}
		if strings.HasPrefix(raw, "[") {
			host, port, err := splitBracketed(raw)
			if err != nil {
				return nil, err
			}
			if port == "22" {
				raw = host
			}
		} else if strings.Contains(raw, "]") {
			return nil, fmt.Errorf("invalid host pattern %q", truncate(raw, 64))
		}
		p.glob = strings.ToLower(raw)
		positive = positive || !p.negate
		ps = append(ps, p)
	}
	if !positive {
		return nil, errors.New("host patterns are all negated")
	}
	return ps, nil
}

// splitBracketed splits "[host]:port", checking the port.
func splitBracketed(s string) (host, port string, err error) {
	end := strings.Index(s, "]")
	if end < 2 || !strings.HasPrefix(s[end:], "]:") {
		return "", "", fmt.Errorf("invalid host pattern %q (want [HOST]:PORT)", truncate(s, 64))
	}
	host, port = s[1:end], s[end+2:]
	if strings.ContainsAny(host, "[]") {
		return "", "", fmt.Errorf("invalid host pattern %q", truncate(s, 64))
	}
	if !validPortPattern(port) {
		return "", "", fmt.Errorf("invalid port in host pattern %q", truncate(s, 64))
	}
	return host, port, nil
}

// validPortPattern accepts a port 1-65535 in decimal, or a pattern of
// digits and the wildcards * and ?.
func validPortPattern(p string) bool {
	if p == "" || len(p) > 16 {
		return false
	}
	if strings.Trim(p, "0123456789*?") != "" {
		return false
	}
	if strings.ContainsAny(p, "*?") {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && p[0] != '0'
}

// knownHostsName is the name a host is looked up under: "host" for port
// 22, "[host]:port" otherwise, lowercased.
func knownHostsName(host string, port int) string {
	host = strings.ToLower(host)
	if port == 22 {
		return host
	}
	return "[" + host + "]:" + strconv.Itoa(port)
}

func (db *knownHosts) lookup(host string, port int) hostKnowledge {
	return hostKnowledge{
		trusted: db.matching(db.entries, host, port),
		cas:     db.matching(db.cas, host, port),
		revoked: db.revoked,
	}
}

// matching returns the keys of the entries whose patterns match host on
// port. @cert-authority lines match the same names as plain ones: "host"
// for port 22, "[host]:port" otherwise.
func (db *knownHosts) matching(entries []knownHostsEntry, host string, port int) []ssh.PublicKey {
	name := knownHostsName(host, port)
	var keys []ssh.PublicKey
	for _, e := range entries {
		if e.matches(name) {
			keys = append(keys, e.key)
		}
	}
	return keys
}

func (e *knownHostsEntry) matches(name string) bool {
	if e.hashed != nil {
		mac := hmac.New(sha1.New, e.hashed.salt)
		mac.Write([]byte(name))
		return hmac.Equal(mac.Sum(nil), e.hashed.sum)
	}
	matched := false
	for _, p := range e.patterns {
		if globMatch(p.glob, name) {
			if p.negate {
				return false
			}
			matched = true
		}
	}
	return matched
}

// globMatch matches name against a pattern with * (any run) and ? (any
// one byte), in O(len(pattern)*len(name)) worst case.
func globMatch(pattern, name string) bool {
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == name[n]):
			p++
			n++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

package sshexec_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

func sameKey(a, b ssh.PublicKey) bool {
	return a != nil && b != nil && bytes.Equal(a.Marshal(), b.Marshal())
}

// A node with several host keys must present the pinned one: without
// restricting HostKeyAlgorithms, x/crypto prefers RSA over Ed25519 and
// would report a false mismatch.
func TestPinnedKeyTypeIsNegotiated(t *testing.T) {
	t.Parallel()
	rsaKey := newRSASigner(t)
	edKey := newEd25519Signer(t)
	ecKey := newECDSASigner(t)
	srv := newTestServer(t, faultNone, rsaKey, edKey)
	tests := []struct {
		name     string
		pin      []ssh.PublicKey
		wantKey  ssh.PublicKey
		wantCode readiness.Code
	}{
		{name: "ed25519 pinned", pin: []ssh.PublicKey{edKey.PublicKey()}, wantKey: edKey.PublicKey()},
		{name: "rsa pinned", pin: []ssh.PublicKey{rsaKey.PublicKey()}, wantKey: rsaKey.PublicKey()},
		{name: "both pinned", pin: []ssh.PublicKey{edKey.PublicKey(), rsaKey.PublicKey()}},
		{name: "type the node lacks", pin: []ssh.PublicKey{ecKey.PublicKey()}, wantCode: readiness.CodeSSHHostKeyMismatch},
		{name: "other ed25519 key", pin: []ssh.PublicKey{newEd25519Signer(t).PublicKey()}, wantCode: readiness.CodeSSHHostKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := srv.target()
			tg.HostKeys = sshexec.PinnedHostKeys(tt.pin...)
			res, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil)
			if got := sshexec.CodeOf(err); got != tt.wantCode {
				t.Fatalf("got code %q (%v), want %q", got, err, tt.wantCode)
			}
			if err == nil && tt.wantKey != nil && !sameKey(res.HostKey, tt.wantKey) {
				t.Errorf("got host key %s, want %s", res.HostKey.Type(), tt.wantKey.Type())
			}
		})
	}
}

func TestKnownHostsRun(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	key := srv.hostKeys[0].PublicKey()
	addr := knownhosts.Normalize(net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.port())))
	other := newEd25519Signer(t).PublicKey()
	tests := []struct {
		name     string
		file     string
		wantCode readiness.Code
	}{
		{name: "plain", file: knownhosts.Line([]string{addr}, key)},
		{name: "hashed", file: knownhosts.Line([]string{knownhosts.HashHostname(addr)}, key)},
		{name: "wildcard", file: knownhosts.Line([]string{"[127.0.0.*]:" + strconv.Itoa(srv.port())}, key)},
		{name: "other port only", file: knownhosts.Line([]string{"[127.0.0.1]:1"}, key), wantCode: readiness.CodeSSHHostKeyUnknown},
		{name: "port 22 form does not match", file: knownhosts.Line([]string{"127.0.0.1"}, key), wantCode: readiness.CodeSSHHostKeyUnknown},
		{name: "negated", file: knownhosts.Line([]string{"127.0.0.*", "[127.0.0.*]:*", "!" + addr}, key), wantCode: readiness.CodeSSHHostKeyUnknown},
		{name: "other key", file: knownhosts.Line([]string{addr}, other), wantCode: readiness.CodeSSHHostKeyMismatch},
		{name: "revoked", file: knownhosts.Line([]string{addr}, key) + "\n@revoked * " + string(ssh.MarshalAuthorizedKey(key)), wantCode: readiness.CodeSSHHostKeyMismatch},
		{name: "cert authority does not trust a plain key", file: "@cert-authority * " + string(ssh.MarshalAuthorizedKey(key)), wantCode: readiness.CodeSSHHostKeyUnknown},
		{name: "empty", file: "", wantCode: readiness.CodeSSHHostKeyUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			policy, err := sshexec.ParseKnownHosts(strings.NewReader(tt.file))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			tg := srv.target()
			tg.HostKeys = policy
			_, err = new(sshexec.Client).Run(context.Background(), tg, "true", nil)
			if got := sshexec.CodeOf(err); got != tt.wantCode {
				t.Errorf("got code %q (%v), want %q", got, err, tt.wantCode)
			}
		})
	}
}

type recorder struct {
	mu    sync.Mutex
	calls []string
	keys  []ssh.PublicKey
	err   error
}

func (r *recorder) persist(hostport string, key ssh.PublicKey) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, hostport)
	r.keys = append(r.keys, key)
	return r.err
}

func TestAcceptNew(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	hostport := net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.port()))
	var c sshexec.Client
	ctx := context.Background()

	// First contact: learned and persisted.
	rec := &recorder{}
	tg := srv.target()
	tg.HostKeys = sshexec.AcceptNew(nil, rec.persist)
	res, err := c.Run(ctx, tg, "true", nil)
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	if !res.HostKeyLearned || !sameKey(res.HostKey, srv.hostKeys[0].PublicKey()) {
		t.Fatalf("got learned %v key %v, want the server's key learned", res.HostKeyLearned, res.HostKey)
	}
	if len(rec.calls) != 1 || rec.calls[0] != hostport || !sameKey(rec.keys[0], res.HostKey) {
		t.Fatalf("got persist calls %v, want one for %s with the learned key", rec.calls, hostport)
	}

	// Second run pinned to the learned key.
	tg.HostKeys = sshexec.PinnedHostKeys(res.HostKey)
	res2, err := c.Run(ctx, tg, "true", nil)
	if err != nil {
		t.Fatalf("pinned run: %v", err)
	}
	if res2.HostKeyLearned {
		t.Error("got HostKeyLearned on a pinned run, want false")
	}

	// Accept-new with the learned key as known: still not learned again.
	learned, err := sshexec.ParseKnownHosts(strings.NewReader(knownhosts.Line([]string{knownhosts.Normalize(hostport)}, res.HostKey)))
	if err != nil {
		t.Fatal(err)
	}
	tg.HostKeys = sshexec.AcceptNew(learned, rec.persist)
	res3, err := c.Run(ctx, tg, "true", nil)
	if err != nil || res3.HostKeyLearned || len(rec.calls) != 1 {
		t.Fatalf("got err %v learned %v persist calls %d, want a known key accepted without persisting", err, res3 != nil && res3.HostKeyLearned, len(rec.calls))
	}

	// The node changes its key: a mismatch, never learned.
	srv2 := newTestServer(t, faultNone)
	known, err := sshexec.ParseKnownHosts(strings.NewReader(knownhosts.Line([]string{"[127.0.0.1]:" + strconv.Itoa(srv2.port())}, res.HostKey)))
	if err != nil {
		t.Fatal(err)
	}
	tg2 := srv2.target()
	tg2.HostKeys = sshexec.AcceptNew(known, rec.persist)
	_, err = c.Run(ctx, tg2, "true", nil)
	if got := sshexec.CodeOf(err); got != readiness.CodeSSHHostKeyMismatch {
		t.Errorf("changed key: got %q (%v), want %q", got, err, readiness.CodeSSHHostKeyMismatch)
	}
	tg2.HostKeys = sshexec.PinnedHostKeys(res.HostKey)
	_, err = c.Run(ctx, tg2, "true", nil)
	if got := sshexec.CodeOf(err); got != readiness.CodeSSHHostKeyMismatch {
		t.Errorf("changed key, pinned: got %q (%v), want %q", got, err, readiness.CodeSSHHostKeyMismatch)
	}
	if len(rec.calls) != 1 {
		t.Errorf("got %d persist calls, want 1: a mismatch must not be persisted", len(rec.calls))
	}
}

func TestAcceptNewPersistError(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	rec := &recorder{err: errors.New("disk full")}
	tg := srv.target()
	tg.HostKeys = sshexec.AcceptNew(nil, rec.persist)
	res, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil)
	if !errors.Is(err, rec.err) {
		t.Fatalf("got %v, want the persist error", err)
	}
	var e *sshexec.Error
	if !errors.As(err, &e) || e.Phase != sshexec.PhaseHostKey || e.Code != readiness.CodeSSHHostKeyUnknown {
		t.Errorf("got %#v, want a hostkey-phase *Error with code ssh_host_key_unknown: the key could not be pinned", err)
	}
	if res != nil {
		t.Errorf("got result %+v, want nil", res)
	}
}

func TestAcceptNewNilPersist(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	tg := srv.target()
	tg.HostKeys = sshexec.AcceptNew(nil, nil)
	res, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.HostKeyLearned || !sameKey(res.HostKey, srv.hostKeys[0].PublicKey()) {
		t.Errorf("got learned %v, want the server's key learned", res.HostKeyLearned)
	}
}

func TestAcceptNewRevoked(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	known, err := sshexec.ParseKnownHosts(strings.NewReader(fmt.Sprintf("@revoked * %s", ssh.MarshalAuthorizedKey(srv.hostKeys[0].PublicKey()))))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	tg := srv.target()
	tg.HostKeys = sshexec.AcceptNew(known, rec.persist)
	_, err = new(sshexec.Client).Run(context.Background(), tg, "true", nil)
	if got := sshexec.CodeOf(err); got != readiness.CodeSSHHostKeyMismatch {
		t.Errorf("got %q (%v), want %q", got, err, readiness.CodeSSHHostKeyMismatch)
	}
	if len(rec.calls) != 0 {
		t.Errorf("got %d persist calls, want 0", len(rec.calls))
	}
}

package sshexec_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/sshexec"
)

// deterministicEd25519 returns a fixed key for fuzz seeds.
func deterministicEd25519() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv, nil
}

func marshalKey(tb testing.TB, key crypto.PrivateKey, passphrase string) []byte {
	tb.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(key, "test key")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "test key", []byte(passphrase))
	}
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func TestParsePrivateKey(t *testing.T) {
	t.Parallel()
	_, edPriv, _ := deterministicEd25519()
	ecPriv := mustECDSA(t)
	rsaPriv := testRSAKey(t)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(edPriv)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	edPEM := marshalKey(t, edPriv, "")
	// bcrypt makes each encrypted key cost a second or two under -race:
	// one encrypted key serves the passphrase cases.
	edEnc := encryptedEd25519(t)
	tests := []struct {
		name       string
		pem        []byte
		passphrase string
		wantPub    crypto.PublicKey
		wantIs     error
		wantErr    string
	}{
		{name: "ed25519", pem: edPEM, wantPub: edPriv.Public()},
		{name: "ecdsa", pem: marshalKey(t, ecPriv, ""), wantPub: ecPriv.Public()},
		{name: "rsa", pem: marshalKey(t, rsaPriv, ""), wantPub: rsaPriv.Public()},
		{name: "pkcs8", pem: pkcs8PEM, wantPub: edPriv.Public()},
		{name: "passphrase ignored for a plain key", pem: edPEM, passphrase: "unused", wantPub: edPriv.Public()},
		{name: "encrypted ed25519", pem: edEnc, passphrase: "s3cret", wantPub: edPriv.Public()},
		{name: "encrypted rsa", pem: marshalKey(t, rsaPriv, "s3cret"), passphrase: "s3cret", wantPub: rsaPriv.Public()},
		{name: "encrypted without passphrase", pem: edEnc, wantIs: sshexec.ErrPassphraseRequired, wantErr: "sshexec: key is passphrase-protected"},
		{name: "wrong passphrase", pem: edEnc, passphrase: "nope", wantIs: sshexec.ErrWrongPassphrase, wantErr: "sshexec: wrong passphrase"},
		{name: "garbage", pem: []byte("not a key at all"), wantErr: "sshexec: private key: "},
		{name: "empty", pem: nil, wantErr: "sshexec: private key: "},
		{name: "public key", pem: ssh.MarshalAuthorizedKey(mustSigner(t, edPriv).PublicKey()), wantErr: "sshexec: private key: "},
		{name: "truncated", pem: edPEM[:len(edPEM)/2], wantErr: "sshexec: private key: "},
		{name: "corrupt body", pem: corruptPEM(edPEM), wantErr: "sshexec: private key: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := sshexec.ParsePrivateKey(tt.pem, []byte(tt.passphrase))
			if tt.wantPub != nil {
				if err != nil {
					t.Fatalf("got %v, want a signer", err)
				}
				want, _ := ssh.NewPublicKey(tt.wantPub)
				if !sameKey(s.PublicKey(), want) {
					t.Errorf("got public key %s, want %s", ssh.FingerprintSHA256(s.PublicKey()), ssh.FingerprintSHA256(want))
				}
				return
			}
			if s != nil || err == nil {
				t.Fatalf("got signer %v err %v, want only an error", s, err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("got %v, want errors.Is %v", err, tt.wantIs)
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("got %q, want prefix %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "BEGIN") {
				t.Errorf("got %q, want no secrets in the message", err)
			}
		})
	}
}

var (
	encOnce sync.Once
	encPEM  []byte
)

// encryptedEd25519 is the deterministic ed25519 key encrypted with the
// passphrase "s3cret".
func encryptedEd25519(tb testing.TB) []byte {
	tb.Helper()
	encOnce.Do(func() {
		_, priv, _ := deterministicEd25519()
		encPEM = marshalKey(tb, priv, "s3cret")
	})
	return encPEM
}

func corruptPEM(p []byte) []byte {
	block, _ := pem.Decode(p)
	b := bytes.Clone(block.Bytes)
	for i := len(b) / 2; i < len(b); i++ {
		b[i] ^= 0x5a
	}
	return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: b})
}

func mustSigner(tb testing.TB, key crypto.PrivateKey) ssh.Signer {
	tb.Helper()
	s, err := ssh.NewSignerFromKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestLoadPrivateKeyFile(t *testing.T) {
	t.Parallel()
	_, edPriv, _ := deterministicEd25519()
	dir := t.TempDir()
	plain := filepath.Join(dir, "id_ed25519")
	enc := filepath.Join(dir, "id_enc")
	if err := os.WriteFile(plain, marshalKey(t, edPriv, ""), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(enc, encryptedEd25519(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sshexec.LoadPrivateKeyFile(plain, nil); err != nil {
		t.Errorf("plain: got %v, want nil", err)
	}
	if _, err := sshexec.LoadPrivateKeyFile(enc, []byte("s3cret")); err != nil {
		t.Errorf("encrypted: got %v, want nil", err)
	}
	if _, err := sshexec.LoadPrivateKeyFile(enc, nil); !errors.Is(err, sshexec.ErrPassphraseRequired) {
		t.Errorf("encrypted without passphrase: got %v, want ErrPassphraseRequired", err)
	}
	if _, err := sshexec.LoadPrivateKeyFile(filepath.Join(dir, "missing"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: got %v, want os.ErrNotExist", err)
	}
}

func FuzzParsePrivateKey(f *testing.F) {
	_, edPriv, _ := deterministicEd25519()
	plain := marshalKey(f, edPriv, "")
	f.Add(plain, []byte(""))
	enc := encryptedEd25519(f)
	f.Add(enc, []byte("s3cret"))
	f.Add(enc, []byte("wrong"))
	f.Add(enc, []byte(""))
	f.Add(plain[:len(plain)/2], []byte(""))
	f.Add([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), []byte("x"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"), []byte("x"))
	f.Add([]byte("garbage"), []byte(""))
	f.Fuzz(func(t *testing.T, data, passphrase []byte) {
		s, err := sshexec.ParsePrivateKey(data, passphrase)
		if (s == nil) == (err == nil) {
			t.Fatalf("got signer %v and error %v, want exactly one", s, err)
		}
	})
}

func mustECDSA(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

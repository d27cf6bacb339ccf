package sshtest

import (
	"bytes"
	"crypto/rand"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
)

// SetHostCertificate makes the node present cert, a certificate of its
// host key, to clients that offer certificate host key algorithms, the
// way sshd does with HostCertificate; clients that offer only plain
// algorithms still get the plain key. A nil cert stops presenting one.
// The certificate is used as given, valid or not, so tests can present
// expired, misaddressed or badly signed ones. It applies to connections
// accepted from now on, and panics with an "sshtest: " message if cert
// certifies another key.
func (n *Node) SetHostCertificate(cert *ssh.Certificate) {
	var signer ssh.Signer
	if cert != nil {
		if !bytes.Equal(cert.Key.Marshal(), n.hostSigner.PublicKey().Marshal()) {
			panic("sshtest: SetHostCertificate: the certificate certifies another key than the node's host key")
		}
		s, err := ssh.NewCertSigner(cert, n.hostSigner)
		if err != nil {
			panic("sshtest: SetHostCertificate: " + err.Error())
		}
		signer = s
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hostCert = signer
}

// CertifyHostKey signs the node's host key with ca as a host certificate
// for principals (the host names clients connect to, "127.0.0.1" for
// Target), valid from an hour ago for a day, and presents it with
// SetHostCertificate. It returns the certificate, and panics with an
// "sshtest: " message if signing fails (no principals, for one).
func (n *Node) CertifyHostKey(ca ssh.Signer, principals ...string) *ssh.Certificate {
	now := time.Now()
	cert := &ssh.Certificate{
		Key:             n.HostKey(),
		Serial:          1,
		CertType:        ssh.HostCert,
		KeyId:           "sshtest node " + n.addr,
		ValidPrincipals: principals,
		ValidAfter:      uint64(now.Add(-time.Hour).Unix()),
		ValidBefore:     uint64(now.Add(24 * time.Hour).Unix()),
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		panic("sshtest: CertifyHostKey: " + err.Error())
	}
	n.SetHostCertificate(cert)
	return cert
}

// serverConfig starts each connection's server config with the host
// certificate, if any; gliderlabs/ssh adds the plain host key after it.
func (n *Node) serverConfig(gliderssh.Context) *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.hostCert != nil {
		cfg.AddHostKey(n.hostCert)
	}
	return cfg
}

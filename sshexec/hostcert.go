package sshexec

import (
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// certAlgorithms are the host certificate algorithms offered, first, to a
// host that a @cert-authority line applies to, so that a node with a
// HostCertificate presents it. SHA-1 RSA and security-key certificates
// are left out: no sshd presents those as host keys by default.
var certAlgorithms = []string{
	ssh.CertAlgoED25519v01,
	ssh.CertAlgoECDSA256v01,
	ssh.CertAlgoECDSA384v01,
	ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01,
	ssh.CertAlgoRSASHA256v01,
}

// plainHostKeyAlgorithms are the library's supported plain host key
// algorithms, offered after the certificate ones when no plain key is
// known for a host a CA applies to.
var plainHostKeyAlgorithms = slices.DeleteFunc(ssh.SupportedAlgorithms().HostKeys, func(a string) bool {
	return strings.Contains(a, "-cert-")
})

// certFailure is why a host certificate was not accepted. detail is
// operator-safe; final failures (a revoked key or CA) are never retried
// with the plain key the certificate certifies.
type certFailure struct {
	detail string
	final  bool
}

// The distinct details of a rejected host certificate.
const (
	certNotHost        = "the node presented a certificate that is not a host certificate"
	certCARevoked      = "the host certificate is signed by a revoked certificate authority"
	certUntrustedCA    = "the host certificate is not signed by a certificate authority trusted for this host"
	certKeyRevoked     = "the host certificate certifies a revoked host key"
	certCritical       = "the host certificate has critical options, which host certificates must not have"
	certNoPrincipals   = "the host certificate lists no host names (principals)"
	certWrongHost      = "the host certificate is not valid for this host (its principals do not name it)"
	certNotYetValid    = "the host certificate is not yet valid"
	certExpired        = "the host certificate has expired"
	certBadSignature   = "the host certificate's signature does not verify against its certificate authority"
	certCheckerRefused = "the host certificate failed verification"
)

// checkHostCert checks cert as OpenSSH and x/crypto's ssh.CertChecker
// check a host certificate for host: a host certificate, signed by one of
// cas, neither it nor its key revoked, no critical options, host among
// its principals (exactly, as given; OpenSSH and CertChecker check the
// bare host name, also for ports other than 22, and an empty principal
// list is valid for no host), inside its validity window at now, and
// with a CA signature that verifies. It returns nil when cert is
// accepted.
func checkHostCert(cert *ssh.Certificate, host string, cas []ssh.PublicKey, revoked map[string]bool, now time.Time) *certFailure {
	fail := func(detail string) *certFailure { return &certFailure{detail: detail} }
	if cert.CertType != ssh.HostCert {
		return fail(certNotHost)
	}
	if revoked[string(cert.SignatureKey.Marshal())] {
		return &certFailure{detail: certCARevoked, final: true}
	}
	if !slices.ContainsFunc(cas, func(ca ssh.PublicKey) bool { return sameKey(ca, cert.SignatureKey) }) {
		return fail(certUntrustedCA)
	}
	if revoked[string(cert.Key.Marshal())] {
		return &certFailure{detail: certKeyRevoked, final: true}
	}
	if len(cert.CriticalOptions) > 0 {
		return fail(certCritical)
	}
	if len(cert.ValidPrincipals) == 0 {
		return fail(certNoPrincipals)
	}
	if !slices.Contains(cert.ValidPrincipals, host) {
		return fail(certWrongHost)
	}
	// The window is [ValidAfter, ValidBefore), in Unix seconds, with
	// CertTimeInfinity as "forever" and values past int64 as invalid, as
	// CertChecker reads it.
	unix := now.Unix()
	if cert.ValidAfter > math.MaxInt64 || unix < int64(cert.ValidAfter) {
		return fail(certNotYetValid)
	}
	if cert.ValidBefore != ssh.CertTimeInfinity && (cert.ValidBefore > math.MaxInt64 || unix >= int64(cert.ValidBefore)) {
		return fail(certExpired)
	}
	// Every other check of CertChecker has been made above, with the same
	// clock, so what it can still refuse is the CA's signature.
	checker := ssh.CertChecker{Clock: func() time.Time { return now }}
	if err := checker.CheckCert(host, cert); err != nil {
		if strings.Contains(err.Error(), "signature") {
			return fail(certBadSignature)
		}
		return fail(certCheckerRefused)
	}
	return nil
}

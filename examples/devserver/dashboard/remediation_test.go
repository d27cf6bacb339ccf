package dashboard

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pressluft/runtime-readiness/readiness"
)

func commands(segs []segment) []string {
	var out []string
	for _, s := range segs {
		if s.Command {
			out = append(out, s.Text)
		}
	}
	return out
}

func TestSplitRemediation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"after colon, sentence follows", "Allow passwordless sudo for the SSH user: echo 'pressluft ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/pressluft && sudo chmod 440 /etc/sudoers.d/pressluft && sudo visudo -c. The same line fixes a user.",
			[]string{"echo 'pressluft ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/pressluft && sudo chmod 440 /etc/sudoers.d/pressluft && sudo visudo -c"}},
		{"after colon, parenthesis follows", "Install php-fpm: sudo apt-get install -y php-fpm php-redis (or re-run provisioning for the node).",
			[]string{"sudo apt-get install -y php-fpm php-redis"}},
		{"semicolon and read", "Start and enable the service: sudo systemctl enable --now nginx; if it does not stay up, read sudo journalctl -u nginx -n 50.",
			[]string{"sudo systemctl enable --now nginx", "sudo journalctl -u nginx -n 50"}},
		{"parentheses", "Check that sshd listens (sudo systemctl status ssh), and that the firewall allows it (sudo ufw allow 22/tcp).",
			[]string{"sudo systemctl status ssh", "sudo ufw allow 22/tcp"}},
		{"run ... to", "Log in as USER and run sudo -n true to see sudo's own message.", []string{"sudo -n true"}},
		{"two commands joined by then", "Install sudo as root: apt-get install -y sudo; then allow the SSH user: echo 'USER ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/pressluft && chmod 440 /etc/sudoers.d/pressluft.",
			[]string{"apt-get install -y sudo", "echo 'USER ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/pressluft && chmod 440 /etc/sudoers.d/pressluft"}},
		{"prose parentheses stay prose", "Add the key to ~/.ssh/authorized_keys (mode 600, directory 700).", nil},
		{"no command", "Choose another node for this site or environment.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			segs := splitRemediation(tt.in)
			if diff := cmp.Diff(tt.want, commands(segs)); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
		})
	}
}

// Every registry remediation splits losslessly, and no command keeps a
// sentence's full stop or a stray parenthesis.
func TestSplitRemediationRegistry(t *testing.T) {
	t.Parallel()
	for _, info := range readiness.Registry() {
		segs := splitRemediation(info.Remediation)
		var b strings.Builder
		for _, s := range segs {
			b.WriteString(s.Text)
		}
		if got := b.String(); got != info.Remediation {
			t.Errorf("%s: joined segments = %q, want %q", info.Code, got, info.Remediation)
		}
		for _, c := range commands(segs) {
			if strings.HasSuffix(c, ".") || strings.Count(c, "(") != strings.Count(c, ")") || strings.TrimSpace(c) != c {
				t.Errorf("%s: bad command %q", info.Code, c)
			}
		}
		t.Logf("%s: %q", info.Code, commands(segs))
	}
}

func TestForNode(t *testing.T) {
	t.Parallel()
	unreachable := "Check that sshd listens on the configured port (sudo systemctl status ssh), and that the firewall allows it (sudo ufw allow 22/tcp)."
	auth := "Add the control plane's public key to ~/.ssh/authorized_keys of the SSH user on the node (mode 600, directory 700)."
	tests := []struct {
		name, in string
		port     int
		user     string
		want     string
	}{
		{"default port unchanged", unreachable, 22, "pressluft", unreachable},
		{"the node's port", unreachable, 2222, "pressluft", strings.Replace(unreachable, "22/tcp", "2222/tcp", 1)},
		{"the node's user", auth, 22, "deploy", strings.Replace(auth, "the SSH user on", "the SSH user deploy on", 1)},
		{"no user known", auth, 22, "", auth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := forNode(tt.in, tt.port, tt.user); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

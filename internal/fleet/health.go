package fleet

// HealthProfiles are real node-health states (issue 11), kept apart from
// Profiles so the full fleet's test does not boot them: a boot held in
// starting, a failed unit, the dpkg lock held by a real apt-get, a full
// volume at the site root, and the reboot marker. Each is made with the
// node's own tools (systemd units, dpkg-deb, apt-get, fstab, tmpfs).
func HealthProfiles() []Profile {
	return []Profile{
		{Name: "booting", Doc: "a first-boot job (Type=oneshot, sleep infinity, wanted by multi-user.target) keeps systemd starting",
			Booting: true,
			Setup: unit("pressluft-firstboot", "A first-boot job that never finishes",
				"Type=oneshot\nExecStart=/bin/sleep infinity\nTimeoutStartSec=infinity")},
		{Name: "degraded", Doc: "an unrelated oneshot unit fails at boot: systemd degraded",
			Setup: unit("pressluft-broken", "A unit that fails", "Type=oneshot\nExecStart=/bin/false")},
		// flock(1) on the lock file would not do: dpkg and apt lock with
		// fcntl, and a flock does not keep them out. A real apt-get,
		// stuck in a package's preinst, holds lock-frontend and its dpkg
		// holds lock, as while cloud-init or unattended-upgrades install.
		{Name: "dpkg-locked", Doc: "apt-get installs a local package whose preinst never returns: apt-get holds lock-frontend, dpkg lock",
			Setup: `mkdir -p /root/pressluft-hold/DEBIAN
printf 'Package: pressluft-hold\nVersion: 1.0\nArchitecture: all\nMaintainer: fleet <fleet@localhost>\nDescription: holds the dpkg lock in its preinst\n' >/root/pressluft-hold/DEBIAN/control
printf '#!/bin/sh\nexec sleep infinity\n' >/root/pressluft-hold/DEBIAN/preinst
chmod 0755 /root/pressluft-hold/DEBIAN/preinst
dpkg-deb --build /root/pressluft-hold /root/pressluft-hold.deb >/dev/null
` + unit("pressluft-apt", "apt-get installing a package", "Type=simple\nExecStart=/usr/bin/apt-get install -y /root/pressluft-hold.deb")},
		{Name: "disk-low", Doc: "a 64 MiB tmpfs mounted at /srv/www (fstab), filled at boot",
			Setup: `mkdir -p /srv/www
echo 'tmpfs /srv/www tmpfs size=64m,mode=0755 0 0' >>/etc/fstab
` + unit("pressluft-fill", "Fill /srv/www", "Type=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'head -c 100000000 /dev/zero >/srv/www/fill || true'\n[Unit]\nRequiresMountsFor=/srv/www")},
		// The real cloud-init (Debian's package, disabled in every other
		// node), from a NoCloud seed as a provider's first boot would
		// run it: one whose last stage (runcmd) never ends, and one that
		// has finished.
		{Name: "cloud-init-running", Doc: "cloud-init's first boot still running (a runcmd that never returns)",
			Booting: true, Setup: cloudInit("sleep infinity")},
		{Name: "cloud-init-done", Doc: "cloud-init's first boot finished",
			Setup: cloudInit("true")},
		// Debian 12 has no update-notifier: the unit writes what Ubuntu's
		// notify-reboot-required writes, the marker line and each
		// package once.
		{Name: "reboot-required", Doc: "/run/reboot-required and /run/reboot-required.pkgs written at boot as Ubuntu's update-notifier writes them",
			Setup: unit("pressluft-reboot-marker", "Write the reboot marker", `Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo "*** System restart required ***" >/run/reboot-required; for p in linux-image-6.1.0-28-amd64 libc6 libc6; do grep -qsx "$p" /run/reboot-required.pkgs || echo "$p" >>/run/reboot-required.pkgs; done'`)},
	}
}

// cloudInit is a Setup script that enables cloud-init and seeds it, with
// runcmd as its one command. The locale is C.UTF-8: with cloud-init's
// default, en_US.UTF-8, which a minbase root cannot generate, its config
// stage failed (seen: "update-locale: Error: invalid locale settings").
// The node keeps the host key the fleet pinned: by default cloud-init
// deletes and regenerates host keys on a first boot (seen: the probe said
// ssh_host_key_mismatch), which a provider reports through its API.
func cloudInit(runcmd string) string {
	return `rm -f /etc/cloud/cloud-init.disabled
mkdir -p /var/lib/cloud/seed/nocloud
printf 'instance-id: fleet-node\nlocal-hostname: node\n' >/var/lib/cloud/seed/nocloud/meta-data
printf '#cloud-config\nlocale: C.UTF-8\nssh_deletekeys: false\nssh_genkeytypes: []\nruncmd:\n  - "` + runcmd + `"\n' >/var/lib/cloud/seed/nocloud/user-data
`
}

// unit is a Setup script that writes and enables a unit wanted by
// multi-user.target; service is its [Service] section (it may open
// another section after it).
func unit(name, desc, service string) string {
	return `cat >/etc/systemd/system/` + name + `.service <<'UNIT'
[Unit]
Description=` + desc + `
[Service]
` + service + `
[Install]
WantedBy=multi-user.target
UNIT
systemctl enable --quiet ` + name + `.service
`
}

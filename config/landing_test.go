package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
)

func TestLandingBackendBlock(t *testing.T) {
	const s3ok = "landing: {backend: s3, s3: {endpoint: \"127.0.0.1:9000\", bucket: raw-zone, prefix: /prod/, secure: false}}"
	cases := []struct {
		name, yaml         string
		backend, prefix    string
		secure             bool
		wantErr, errSubstr string
	}{
		{name: "default is dir", yaml: "", backend: "dir"},
		{name: "s3", yaml: s3ok, backend: "s3", prefix: "prod"},
		{name: "s3 is secure by default", yaml: "landing: {backend: s3, s3: {endpoint: s3.eu-west-1.amazonaws.com, bucket: raw-zone}}", backend: "s3", secure: true},
		{name: "unknown backend", yaml: "landing: {backend: gcs}", wantErr: "landing.backend", errSubstr: "use dir (default) or s3"},
		{name: "s3 block with dir", yaml: "landing: {s3: {bucket: raw-zone}}", wantErr: "landing.s3", errSubstr: "only for backend: s3"},
		{name: "no endpoint", yaml: "landing: {backend: s3, s3: {bucket: raw-zone}}", wantErr: "landing.s3.endpoint", errSubstr: "needs an endpoint"},
		{name: "endpoint with scheme", yaml: "landing: {backend: s3, s3: {endpoint: \"https://s3.amazonaws.com\", bucket: raw-zone}}", wantErr: "landing.s3.endpoint", errSubstr: "without a scheme"},
		{name: "bad bucket", yaml: "landing: {backend: s3, s3: {endpoint: h, bucket: Raw_Zone}}", wantErr: "landing.s3.bucket", errSubstr: "lower-case"},
		{name: "a key in access_key_env", yaml: "landing: {backend: s3, s3: {endpoint: h, bucket: raw-zone, access_key_env: \"AKIA/x+secret\"}}", wantErr: "landing.s3.access_key_env", errSubstr: "not an environment variable name"},
		{name: "part size too small", yaml: "landing: {backend: s3, s3: {endpoint: h, bucket: raw-zone, part_size: 1MiB}}", wantErr: "landing.s3.part_size", errSubstr: "out of range"},
		{name: "roll_bytes too large for s3", yaml: "landing: {backend: s3, roll_bytes: 8GiB, s3: {endpoint: h, bucket: raw-zone}}", wantErr: "landing.roll_bytes", errSubstr: "too large for backend s3"},
		{name: "unknown key", yaml: "landing: {backend: s3, s3: {endpoint: h, bucket: raw-zone, secret_key: x}}", wantErr: "landing", errSubstr: "secret_key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("rawland.yaml", []byte(stateBase+tc.yaml+"\n"))
			if tc.wantErr != "" {
				var ce *config.Error
				if !errors.As(err, &ce) || !strings.HasPrefix(ce.Key, tc.wantErr) || !strings.Contains(err.Error(), tc.errSubstr) {
					t.Fatalf("got %v, want an error at %s saying %q", err, tc.wantErr, tc.errSubstr)
				}
				if strings.Contains(err.Error(), "AKIA/x") {
					t.Fatalf("error echoes a key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l := cfg.Landing
			if l.Backend != tc.backend || l.S3.Prefix != tc.prefix {
				t.Fatalf("landing = %+v", l)
			}
			if l.Backend == "s3" && (*l.S3.Secure != tc.secure || l.S3.AccessKeyEnv != "AWS_ACCESS_KEY_ID" || l.S3.PartSize != 8<<20) {
				t.Fatalf("s3 defaults = %+v", l.S3)
			}
		})
	}
}

func TestLandingS3KeysFromEnvOnly(t *testing.T) {
	cfg, err := config.Parse("rawland.yaml", []byte(stateBase+"landing: {backend: s3, s3: {endpoint: h, bucket: raw-zone, access_key_env: RL_TEST_AK, secret_key_env: RL_TEST_SK}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("RL_TEST_AK", "AKIAEXAMPLE")
	t.Setenv("RL_TEST_SK", "")
	_, _, err = cfg.LandingS3Keys()
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "landing.s3.secret_key_env") || !strings.Contains(err.Error(), "RL_TEST_SK is not set") {
		t.Fatalf("unset: %v", err)
	}
	if strings.Contains(err.Error(), "AKIAEXAMPLE") {
		t.Fatalf("error echoes the access key: %v", err)
	}
	t.Setenv("RL_TEST_SK", "s3cr3t")
	if ak, sk, err := cfg.LandingS3Keys(); err != nil || ak != "AKIAEXAMPLE" || sk != "s3cr3t" {
		t.Fatalf("set: %q %q %v", ak, sk, err)
	}
}

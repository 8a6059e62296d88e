package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Landing backends.
const (
	LandingBackendDir = "dir"
	LandingBackendS3  = "s3"
)

// Default environment variables of the S3 credentials.
const (
	DefaultS3AccessKeyEnv = "AWS_ACCESS_KEY_ID"
	DefaultS3SecretKeyEnv = "AWS_SECRET_ACCESS_KEY"
)

// S3 limits the landing zone depends on.
const (
	s3MinPartSize = 5 << 20
	s3MaxPartSize = 5 << 30
	// a part file is copied from staging to raw in one CopyObject request,
	// which S3 limits to 5 GiB; compressed parts may be a little larger
	// than roll_bytes, so roll_bytes stays under 4 GiB
	s3MaxRollBytes = 4 << 30
)

var rangePartSize = sizeRange{def: 8 << 20, min: s3MinPartSize, max: s3MaxPartSize}

// LandingS3 is an S3-compatible bucket for the landing zone:
//
//	landing:
//	  backend: s3
//	  s3:
//	    endpoint: s3.eu-west-1.amazonaws.com   # host[:port], no scheme
//	    bucket: acme-rawland
//	    prefix: prod                           # optional key prefix
//	    region: eu-west-1                      # optional
//	    secure: true                           # https (default true)
//	    access_key_env: AWS_ACCESS_KEY_ID      # default
//	    secret_key_env: AWS_SECRET_ACCESS_KEY  # default
//	    part_size: 8MiB                        # upload part = memory per open file
//
// The credentials only ever come from the environment variables named here.
type LandingS3 struct {
	Endpoint     string `yaml:"endpoint"`
	Bucket       string `yaml:"bucket"`
	Prefix       string `yaml:"prefix"`
	Region       string `yaml:"region"`
	Secure       *bool  `yaml:"secure"`
	AccessKeyEnv string `yaml:"access_key_env"`
	SecretKeyEnv string `yaml:"secret_key_env"`
	PartSize     Size   `yaml:"part_size"`

	// Line is the line of the landing.s3 key (0 when absent).
	Line int `yaml:"-"`
}

// bucketRE is an S3 bucket name (DNS-compatible).
var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// hostPortRE is host[:port] without a scheme or path.
var hostPortRE = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)

func (v *validator) landing() {
	l := &v.cfg.Landing
	s3 := &l.S3
	s3.Line = lineOf(v.root, "landing", "s3")
	switch l.Backend {
	case "", LandingBackendDir:
		l.Backend = LandingBackendDir
		if v.set([]string{"landing", "s3"}) {
			v.fail([]string{"landing", "s3"}, "s3 is only for backend: s3 (set landing.backend: s3, or remove landing.s3)")
		}
		return
	case LandingBackendS3:
	default:
		v.fail([]string{"landing", "backend"}, "unknown landing backend %q: use dir (default) or s3", l.Backend)
		return
	}
	k := func(key string) []string { return []string{"landing", "s3", key} }
	switch {
	case s3.Endpoint == "":
		v.fail(k("endpoint"), "backend s3 needs an endpoint: host[:port] of the S3-compatible service, e.g. s3.eu-west-1.amazonaws.com")
	case strings.Contains(s3.Endpoint, "://"):
		v.fail(k("endpoint"), "endpoint %q: give host[:port] without a scheme (secure: false for plain http)", s3.Endpoint)
	case !hostPortRE.MatchString(s3.Endpoint):
		v.fail(k("endpoint"), "endpoint %q is not host[:port]", s3.Endpoint)
	}
	if !bucketRE.MatchString(s3.Bucket) {
		v.fail(k("bucket"), "bucket %q: use 3 to 63 lower-case letters, digits, '.' and '-' (an existing bucket; rawland never creates one)", s3.Bucket)
	}
	s3.Prefix = strings.Trim(s3.Prefix, "/")
	if strings.Contains(s3.Prefix, "//") || strings.ContainsAny(s3.Prefix, "\\") {
		v.fail(k("prefix"), "prefix %q: use key segments separated by single '/'", s3.Prefix)
	}
	if s3.Secure == nil {
		t := true
		s3.Secure = &t
	}
	for _, e := range []struct {
		key string
		p   *string
		def string
	}{{"access_key_env", &s3.AccessKeyEnv, DefaultS3AccessKeyEnv}, {"secret_key_env", &s3.SecretKeyEnv, DefaultS3SecretKeyEnv}} {
		if *e.p == "" {
			*e.p = e.def
		}
		if !envRE.MatchString(*e.p) {
			// not echoed: it may be a key pasted by mistake
			v.fail(k(e.key), "the value is not an environment variable name: name the variable that holds the key, e.g. %s (never the key itself)", e.def)
		}
	}
	v.checkSize(k("part_size"), &s3.PartSize, rangePartSize)
	if l.RollBytes > s3MaxRollBytes {
		v.fail([]string{"landing", "roll_bytes"}, "roll_bytes %s is too large for backend s3: use at most %s (a part is copied to raw/ in one request, which S3 limits to 5 GiB)", FormatSize(int64(l.RollBytes)), FormatSize(s3MaxRollBytes))
	}
}

// LandingS3Keys returns the S3 access and secret keys from the environment;
// a *Error (exit 2) naming the variable when one is unset. It never includes
// a value in an error.
func (c *Config) LandingS3Keys() (access, secret string, err error) {
	s3 := c.Landing.S3
	access, secret = os.Getenv(s3.AccessKeyEnv), os.Getenv(s3.SecretKeyEnv)
	for _, e := range []struct{ name, val, key string }{{s3.AccessKeyEnv, access, "access_key_env"}, {s3.SecretKeyEnv, secret, "secret_key_env"}} {
		if e.val == "" {
			return "", "", &Error{File: c.Path, Line: s3.Line, Key: "landing.s3." + e.key,
				Msg: fmt.Sprintf("the landing backend is s3 but the environment variable %s is not set: export %s with the bucket's credentials", e.name, e.name)}
		}
	}
	return access, secret, nil
}

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/landing/s3zone"
)

// openLanding connects the configured landing backend once per command:
// nothing for the directory backend (DATA/raw, DATA/staging); for
// landing.backend: s3 the bucket, with the keys from the environment
// (exit 2 naming the variable when one is unset), checked to exist.
func (a *app) openLanding(ctx context.Context) error {
	if a.landing != nil || a.cfg == nil || a.cfg.Landing.Backend != config.LandingBackendS3 {
		return nil
	}
	ak, sk, err := a.cfg.LandingS3Keys()
	if err != nil {
		return err
	}
	c := a.cfg.Landing.S3
	b, err := s3zone.New(s3zone.Config{Endpoint: c.Endpoint, Bucket: c.Bucket, Prefix: c.Prefix, Region: c.Region,
		Secure: c.Secure != nil && *c.Secure, AccessKey: ak, SecretKey: sk, PartSize: int64(c.PartSize)})
	if err != nil {
		return err
	}
	if err := b.Check(ctx); err != nil {
		if errors.Is(err, s3zone.ErrNoBucket) {
			return &config.Error{File: a.cfg.Path, Line: c.Line, Key: "landing.s3.bucket",
				Msg: fmt.Sprintf("bucket %s does not exist at %s: create it (rawland never creates buckets)", c.Bucket, c.Endpoint)}
		}
		return fmt.Errorf("landing zone (landing.s3 in %s): %w", a.cfg.Path, err)
	}
	a.landing = b
	return nil
}

// zone is the landing zone: the data directory, and the object-store
// backend once openLanding connected it.
func (a *app) zone() landing.Zone { return landing.Zone{Dir: a.dataDir(), Backend: a.landing} }

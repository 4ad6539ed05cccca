package providertest

import (
	"context"
	"testing"
	"time"

	"livechat-auth/provider"
)

// OldPasswords runs the conformance table of provider.OldPasswords
// against fresh records from open; open2, when not nil, opens a second
// view of the same record (another sidecar), which must see the first's
// proofs.
func OldPasswords(t *testing.T, open func(t *testing.T) provider.OldPasswords, open2 func(t *testing.T, first provider.OldPasswords) provider.OldPasswords) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	t.Run("nothing proved", func(t *testing.T) {
		o := open(t)
		if o.Proven(ctx, "rupe", "rupes-pw", now) {
			t.Error("proven without a proof")
		}
		o.Forget(ctx, "rupe") // forgetting nothing is fine
	})
	t.Run("proved for its name, password and time only", func(t *testing.T) {
		o := open(t)
		o.Prove(ctx, "rupe", "rupes-pw", now.Add(time.Hour))
		o.Prove(ctx, "rupe", "another-pw", now.Add(time.Hour))
		for _, c := range []struct {
			name, password string
			at             time.Time
			want           bool
		}{
			{"rupe", "rupes-pw", now, true},
			{"rupe", "another-pw", now, true},
			{"rupe", "rupes-pw ", now, false},
			{"rupe", "RUPES-PW", now, false},
			{"rupex", "rupes-pw", now, false},
			{"rup", "erupes-pw", now, false}, // the fields are framed, not joined
			{"rupe", "rupes-pw", now.Add(time.Hour), false},
		} {
			if got := o.Proven(ctx, c.name, c.password, c.at); got != c.want {
				t.Errorf("Proven(%q, %q, +%v) = %v, want %v", c.name, c.password, c.at.Sub(now), got, c.want)
			}
		}
		o.Forget(ctx, "rupe")
		if o.Proven(ctx, "rupe", "rupes-pw", now) || o.Proven(ctx, "rupe", "another-pw", now) {
			t.Error("proven after Forget")
		}
	})
	if open2 != nil {
		t.Run("another sidecar sees the proof", func(t *testing.T) {
			a := open(t)
			b := open2(t, a)
			a.Prove(ctx, "rupe", "rupes-pw", now.Add(time.Hour))
			if !b.Proven(ctx, "rupe", "rupes-pw", now) {
				t.Fatal("the second sidecar does not see the proof")
			}
			if b.Proven(ctx, "rupe", "wrong", now) {
				t.Error("the second sidecar takes a wrong password for proved")
			}
			b.Forget(ctx, "rupe")
			if a.Proven(ctx, "rupe", "rupes-pw", now) && b.Proven(ctx, "rupe", "rupes-pw", now) {
				t.Error("proven on both after the second sidecar forgot it")
			}
		})
	}
}

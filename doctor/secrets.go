package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"livechat-auth/config"
)

// exposure is what doctor says of a secret the chat server's user can
// read.
type exposure struct {
	what    string // what the secret is
	verdict verdict
	why     string // what its holder can do, or why the chat server has it
	// chatNeeds: the chat server's config uses it, so the fix is not to
	// make it serve's alone but what why says.
	chatNeeds bool
}

// judgeSecret says how bad it is that the chat server's user can read the
// secret of a setting (key, with or without "_file"); chatUses tells
// whether the chat server's own config names that setting. found is
// false for a secret that is the chat server's to hold: the wiki's DSN
// (its extauth decides passwords) and the HTTP contract's secret (Prosody
// sends it).
func judgeSecret(key string, chatUses bool) (e exposure, found bool) {
	switch strings.TrimSuffix(key, "_file") {
	case "token.signing_key":
		return exposure{what: "the private signing key", verdict: verdictFail,
			why: "whoever reads it mints tokens that sign in as any account; the chat server verifies with the public half (livechat-auth keygen --public-out, token.public_key_files)"}, true
	case "session.key":
		return exposure{what: "the session key", verdict: verdictFail,
			why: "whoever reads it has serve hand out a token for any wiki account; the chat server's config needs no session.*"}, true
	case "token.secret", "token.previous_secret":
		if chatUses {
			return exposure{what: "the HS256 token secret", verdict: verdictWarn, chatNeeds: true,
				why: "the chat server's config verifies HS256 tokens with it, and whoever verifies HS256 tokens can mint them for any account: use RS256, ES256 or EdDSA (livechat-auth keygen --public-out) and give the chat server only the public key, or relay to serve (extauth.daemon_socket) and leave token.* out of the chat server's config"}, true
		}
		return exposure{what: "the HS256 token secret", verdict: verdictFail,
			why: "whoever reads it mints tokens that sign in as any account, and the chat server's config does not use it"}, true
	case "status.secret":
		return exposure{what: "the status page's password", verdict: verdictWarn, why: "it opens the status page, which clears failure locks"}, true
	case "state.redis_password", "state.redis_url":
		if chatUses {
			return exposure{}, false // its extauth shares state through that Redis
		}
		return exposure{what: "the shared Redis's password", verdict: verdictWarn,
			why: "its holder can erase the record of used tokens and the failure counts, and the chat server's config does not use it"}, true
	case "rooms.password":
		return exposure{what: "the room sync account's password", verdict: verdictWarn, why: "rooms.jid, a wiki account, signs in with it"}, true
	}
	return exposure{}, false
}

// checkServeSecrets says, for every secret of serve's that the chat
// server's config (chatCfg) or serve's (serveCfg, "" for none) names,
// whether the user u can read it, trying as that user (root only). It
// reads the settings as root, with getenv.
func (d *report) checkServeSecrets(u *user.User, chatCfg, serveCfg string, getenv func(string) string) {
	chat, _ := config.Load(chatCfg, getenv) // what it names is enough; the checks as u report its problems
	chatUses := map[string]bool{}
	for _, s := range chat.Secrets(chatCfg) {
		chatUses[strings.TrimSuffix(s.Key, "_file")] = true
	}
	secrets := chat.Secrets(chatCfg)
	where := chatCfg
	if serveCfg != "" {
		if _, err := os.Stat(serveCfg); err != nil {
			d.say(verdictFail, "--serve-config: "+config.OneLine(err), "name serve's config file (the one its unit starts it with)")
			return
		}
		serve, err := config.Load(serveCfg, getenv)
		if err != nil && len(serve.Secrets(serveCfg)) == 0 {
			d.say(verdictWarn, "cannot list the secrets of --serve-config "+serveCfg+": "+config.OneLine(err), "")
		}
		secrets = append(secrets, serve.Secrets(serveCfg)...)
		where += " and " + serveCfg
	}
	uid, gid, groups, err := credentialsOf(u)
	if err != nil {
		d.say(verdictWarn, "cannot tell which secrets "+u.Username+" can read: "+config.OneLine(err), "")
		return
	}
	var safe []string
	seen := map[config.SecretFile]bool{}
	for _, s := range secrets {
		inChat := chatUses[strings.TrimSuffix(s.Key, "_file")]
		e, found := judgeSecret(s.Key, inChat)
		if !found || seen[s] {
			continue
		}
		seen[s] = true
		readable, err := readableAs(s.Path, uid, gid, groups)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // serve's own checks say so; nobody reads a missing file
		case err != nil:
			d.say(verdictWarn, fmt.Sprintf("cannot tell whether %s can read %s (%s %s): %s", u.Username, e.what, s.Key, s.Path, config.OneLine(err)), "")
		case readable:
			todo := e.why
			if !e.chatNeeds {
				todo = keepFromChat(s) + ": " + e.why
				if inChat {
					todo += "; and take " + s.Key + " out of the chat server's config " + chatCfg
				}
			}
			d.say(e.verdict, fmt.Sprintf("%s can read %s: %s (%s)", u.Username, e.what, heldIn(s), modeOf(s.Path)), todo)
		default:
			safe = append(safe, s.Key)
		}
	}
	switch {
	case len(seen) == 0 && serveCfg == "":
		d.say(verdictOK, fmt.Sprintf("%s names no secret that is serve's alone (--serve-config FILE checks serve's settings too)", where), "")
	case len(seen) == 0:
		d.say(verdictOK, fmt.Sprintf("%s name no secret that is serve's alone", where), "")
	case len(safe) > 0:
		d.say(verdictOK, fmt.Sprintf("serve's secrets are out of %s's reach: %s", u.Username, strings.Join(safe, ", ")), "")
	}
}

// heldIn names a secret and the file it is in.
func heldIn(s config.SecretFile) string {
	if strings.HasSuffix(s.Key, "_file") {
		return s.Key + " " + s.Path
	}
	return s.Key + ", written in the config file " + s.Path
}

// keepFromChat says how to put a secret out of the chat server's reach.
func keepFromChat(s config.SecretFile) string {
	fix := fmt.Sprintf("chown %s %s && chmod 600 %s", ServeUser, s.Path, s.Path)
	if strings.HasSuffix(s.Key, "_file") {
		return fix
	}
	return "make that config serve's alone (" + fix + ") and give the chat server a config of its own without it (docs/operations.md)"
}

// credentialsOf returns a user's uid, primary gid and every group id.
func credentialsOf(u *user.User) (uid, gid int, groups []int, err error) {
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, nil, err
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, nil, err
	}
	ids, err := u.GroupIds()
	if err != nil {
		return 0, 0, nil, fmt.Errorf("groups of %s: %w", u.Username, err)
	}
	for _, id := range ids {
		n, err := strconv.Atoi(id)
		if err != nil {
			return 0, 0, nil, err
		}
		groups = append(groups, n)
	}
	return uid, gid, groups, nil
}

// readableAs reports whether the user uid (primary group gid, groups)
// may open path for reading, by trying it as that user: modes, owners,
// ACLs and every folder on the way are the kernel's to judge. It runs on
// a thread of its own that takes the user's file-system identity
// (setgroups, setfsgid and setfsuid change the calling thread only) and
// is ended with the check, never reused. Root only. An error wrapping
// fs.ErrNotExist: there is no such file.
func readableAs(path string, uid, gid int, groups []int) (bool, error) {
	type answer struct {
		ok  bool
		err error
	}
	done := make(chan answer, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine, and its identity with it
		done <- func() answer {
			if err := unix.Setgroups(groups); err != nil {
				return answer{err: fmt.Errorf("setgroups: %w", err)}
			}
			if err := unix.Setfsgid(gid); err != nil {
				return answer{err: fmt.Errorf("setfsgid: %w", err)}
			}
			if err := unix.Setfsuid(uid); err != nil {
				return answer{err: fmt.Errorf("setfsuid: %w", err)}
			}
			// setfsuid reports no failure: read the identity back.
			if now, _ := unix.SetfsuidRetUid(-1); now != uid {
				return answer{err: fmt.Errorf("setfsuid: the thread still opens files as uid %d", now)}
			}
			if now, _ := unix.SetfsgidRetGid(-1); now != gid {
				return answer{err: fmt.Errorf("setfsgid: the thread still opens files as gid %d", now)}
			}
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
			switch {
			case err == nil:
				unix.Close(fd)
				return answer{ok: true}
			case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
				return answer{}
			}
			return answer{err: &fs.PathError{Op: "open", Path: path, Err: err}}
		}()
	}()
	a := <-done
	return a.ok, a.err
}

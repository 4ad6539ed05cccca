package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"livechat-auth/provider/token"
	"livechat-auth/wikidb"
)

// TokenVerifier checks sign-in tokens; *token.Verifier implements it.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (token.Claims, error)
	Consume(ctx context.Context, c token.Claims) error
}

// Subject says what a token's subject claim names.
type Subject string

// Subjects a token may carry.
const (
	SubjectLivechatID Subject = "livechat_id" // the account's livechat_id (default)
	SubjectLogin      Subject = "login"       // the wiki login
	SubjectUserID     Subject = "user_id"     // users_users.userId
)

// subjectOf returns the subject a token for u carries.
func subjectOf(kind Subject, u wikidb.User) (string, error) {
	switch kind {
	case SubjectLogin:
		return u.Login, nil
	case SubjectUserID:
		return strconv.FormatInt(u.ID, 10), nil
	}
	if u.LivechatID == nil {
		return "", ReasonUnmigrated
	}
	return NormalizeLocalpart(*u.LivechatID)
}

// names reports whether a token subject names account u, exactly: a
// livechat_id subject must normalise to the account's own normalised
// livechat_id (its login, unmigrated), whatever name the sign-in used, so
// a token never signs in as an account its subject merely folds to.
func (kind Subject) names(subject string, u wikidb.User) bool {
	switch kind {
	case SubjectLogin:
		return subject == u.Login
	case SubjectUserID:
		return subject == strconv.FormatInt(u.ID, 10)
	}
	stored := u.Login // unmigrated: the rules refuse it next, saying so
	if u.LivechatID != nil {
		stored = *u.LivechatID
	}
	s, err := NormalizeLocalpart(subject)
	if err != nil {
		return false
	}
	id, err := NormalizeLocalpart(stored)
	return err == nil && s == id
}

// authenticateToken signs in with a token instead of a password: the
// token must verify, name this very account, and be unused; the account
// rules still apply, except 2FA, which the wiki checked.
func (a *Authenticator) authenticateToken(ctx context.Context, name, domain, raw string) (Account, error) {
	claims, err := a.tokens.Verify(ctx, raw)
	if err != nil {
		var p token.Problem
		if errors.As(err, &p) {
			return Account{}, Reason(p)
		}
		return Account{}, fmt.Errorf("verify token: %w", err)
	}
	acct, err := a.resolve(ctx, Lookup{Name: name, Domain: domain}, func(u wikidb.User) error {
		if !a.subject.names(claims.Subject, u) {
			return ReasonTokenSubject
		}
		return nil
	}, accountRules)
	if err != nil {
		return Account{}, err
	}
	if err := a.tokens.Consume(ctx, claims); err != nil {
		var p token.Problem
		if errors.As(err, &p) {
			return Account{}, Reason(p)
		}
		return Account{}, ReasonTokenUnshared // the record cannot tell (it logs why): fail closed
	}
	acct.Token = &claims
	return acct, nil
}

// Package ejabberdapi calls ejabberd's HTTP API (mod_http_api): the
// commands livechat-auth uses are check_account (is a name an account)
// and set_vcard (a vCard field, from mod_admin_extra). It decides nothing.
package ejabberdapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrUnavailable wraps every fault: no answer, or an unexpected one.
var ErrUnavailable = errors.New("ejabberd API unavailable")

// Client calls one ejabberd's API. The zero HTTP uses a 5 s timeout.
type Client struct {
	URL   string // e.g. http://127.0.0.1:5281/api
	Token string // sent as a bearer token when set
	HTTP  *http.Client
}

// call runs command with args and returns the answer's body.
func (c *Client) call(ctx context.Context, command string, args map[string]string) ([]byte, error) {
	body, _ := json.Marshal(args) // strings always marshal
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.URL, "/")+"/"+command, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096)) // a short read fails the parse of the caller
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %s: %.200q", ErrUnavailable, command, resp.Status, raw)
	}
	return bytes.TrimSpace(raw), nil
}

// AccountExists reports whether user@host is an account (check_account).
func (c *Client) AccountExists(ctx context.Context, user, host string) (bool, error) {
	raw, err := c.call(ctx, "check_account", map[string]string{"user": user, "host": host})
	if err != nil {
		return false, err
	}
	// A result code: 0 when the account exists, 1 when it does not.
	switch string(raw) {
	case "0":
		return true, nil
	case "1":
		return false, nil
	}
	return false, fmt.Errorf("%w: check_account answered %.200q", ErrUnavailable, raw)
}

// SetVCard sets one field of user@host's vCard (set_vcard, e.g. FN or
// NICKNAME).
func (c *Client) SetVCard(ctx context.Context, user, host, field, value string) error {
	raw, err := c.call(ctx, "set_vcard", map[string]string{"user": user, "host": host, "name": field, "content": value})
	if err != nil {
		return err
	}
	if string(raw) != "0" {
		return fmt.Errorf("%w: set_vcard answered %.200q", ErrUnavailable, raw)
	}
	return nil
}

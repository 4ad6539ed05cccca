// Package token verifies and mints the short-lived JSON Web Tokens a chat
// widget signs in with instead of a password.
//
// # Rules
//
// A Verifier accepts a token only when its algorithm is on the configured
// allow-list (never "none"), its key is selected by "kid" from the keys of
// that algorithm's family (an HMAC secret is never a public key, and the
// other way round), "iat" is within two minutes of now, "exp" is present
// and at most the configured lifetime (10 minutes at most) after "iat",
// "nbf" has passed, and "iss" and "aud" match when configured. Consume
// makes a token good for one sign-in per "jti".
//
// # Keys
//
// HMAC secrets (HS256) and public keys (RS256, ES256, EdDSA) come from
// configuration, several at once so keys rotate without downtime; a JWKS
// URL adds keys fetched and refreshed in the background. A Minter signs
// with one private key or secret; KeySet publishes its public key as PEM
// and as a JWKS.
//
// Refusals are Problems, whose values are the log's reason codes.
package token

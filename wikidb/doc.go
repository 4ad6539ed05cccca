// Package wikidb reads TikiWiki's MySQL/MariaDB tables; it alone knows
// their column names, and it never writes.
//
// A Store answers the questions a sign-in asks (the account behind a
// livechat_id, the site preferences the account rules need, a user's
// effective groups) with one database round trip each. Every query runs
// under a deadline, and site preferences are cached and refreshed at a
// configured interval so that the hot path costs a single query. Every
// error from a question the database did not answer is ErrUnavailable
// (errors.Is); a missing row is an answer, not an error.
//
// The Store works with a database user that holds only SELECT.
package wikidb

// Package docker runs README's docker compose lines with a Docker engine
// and Compose v2 on this machine: they build the images of the
// repository's Dockerfile and start docker-compose.yml's stack, in which a
// real ejabberd and Prosody sign wiki users in through livechat-auth. It
// is its own package so that go test runs it beside the other integration
// tests in ../.
package docker

// Package docker builds the images of the repository's Dockerfile and runs
// docker-compose.yml's stack with a Docker engine on this machine: a real
// ejabberd and Prosody in containers sign wiki users in through
// livechat-auth. It is its own package so that go test runs it beside the
// other integration tests in ../.
package docker

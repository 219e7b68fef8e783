// Package dual is the transport of a target reached both ways: an SSH CLI
// session and an XML API session to the same firewall, held together as
// one transports.Transport. Each command goes to the part that can run it:
// every CLI command (debug switches, show and test commands, `scp export`
// and anything that asks a question) over SSH, because the CLI text is
// what the parsers, the recorded samples and the cassettes know; files
// the API can stream (transports.Exporter: tech-support, filters-pcap)
// over the API, so no scp server is needed for them. Result.Transport and
// ExportInfo.Transport say which part answered.
//
// It knows nothing of playbooks and nothing of SSH or HTTP: it holds two
// transports.Transport values and imports transports only. It must not
// import engine/, cmd/ or the ssh and xmlapi packages (cmd/runbook passes
// their dialers in).
package dual

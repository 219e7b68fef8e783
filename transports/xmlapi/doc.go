// Package xmlapi is the PAN-OS XML API transport: HTTPS on net/http, XML on
// encoding/xml. It owns the CLI-to-XML conversion of op commands (CmdXML),
// the parsing of response envelopes into text and structured data, API key
// handling (X-PAN-KEY header, keygen by POST), the TLS certificate policy
// (system roots, CA file, pinned SHA-256 fingerprint) and file exports
// streamed to a writer (tech-support job flow, filters-pcap).
//
// It implements transports.Transport and transports.Exporter. It imports
// transports and secret only; it must not import engine/, sim/ or cmd/.
// docs/xmlapi.md describes the conversion rules and the value-keyword table.
package xmlapi

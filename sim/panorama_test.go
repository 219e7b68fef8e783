package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/xmlapi"
)

const panoPass = "pano-Pa55word"

// startPanorama serves a Panorama managing fws on 127.0.0.1 until the test
// ends and returns the inventory target of the Panorama.
func startPanorama(t *testing.T, fws []Managed) (*PanoramaServer, transports.Target) {
	t.Helper()
	p, err := NewPanoramaServer(PanoramaConfig{Password: panoPass}, fws)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Error("panorama did not stop")
		}
	})
	addr := ln.Addr().(*net.TCPAddr)
	return p, transports.Target{Name: "pano", Transport: "xmlapi", Host: "127.0.0.1", Port: addr.Port, User: "admin",
		Password: secret.Ref{Kind: "env", Name: "PANO_PW"}, TLS: transports.TLS{Fingerprint: p.Fingerprint()}}
}

func panoOpts() transports.DialOptions {
	rs := &secret.Resolver{Getenv: func(k string) string {
		if k == "PANO_PW" {
			return panoPass
		}
		return ""
	}}
	return transports.DialOptions{Resolve: rs.Resolve, Warn: io.Discard}
}

// TestPanoramaForwards: a firewall reached through the Panorama answers
// op commands and exports as itself (the transport sends target=serial),
// each simulated firewall keeps its own state, an unknown or disconnected
// serial is refused, and `show devices` lists them with the real
// element names.
func TestPanoramaForwards(t *testing.T) {
	for _, k := range []string{"PANOS_HOSTNAME", "PANOS_API_KEY", "PANOS_USERNAME", "PANOS_PASSWORD"} {
		t.Setenv(k, "")
	}
	fw1 := NewDevice(Options{Hostname: "fw-east", Serial: "007054000543213"})
	fw2 := NewDevice(Options{Hostname: "fw-west", Serial: "007054000543214", Model: "PA-3220"})
	fw3 := NewDevice(Options{Hostname: "fw-gone", Serial: "007054000543215"})
	_, pano := startPanorama(t, []Managed{{Device: fw1, API: APIConfig{JobPolls: 1}}, {Device: fw2, IPAddress: "192.0.2.11"}, {Device: fw3, Disconnected: true}})
	ctx := context.Background()

	pc, err := xmlapi.Open(ctx, pano, panoOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if pc.Facts()["model"] != "Panorama" {
		t.Errorf("Panorama facts %v", pc.Facts())
	}
	all, err := pc.Devices(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []xmlapi.Device{
		{Serial: "007054000543213", Hostname: "fw-east", IPAddress: "192.0.2.10", Model: "PA-VM", SWVersion: "10.2.9", Connected: true},
		{Serial: "007054000543215", Hostname: "fw-gone", IPAddress: "192.0.2.10", Model: "PA-VM", SWVersion: "10.2.9"},
		{Serial: "007054000543214", Hostname: "fw-west", IPAddress: "192.0.2.11", Model: "PA-3220", SWVersion: "10.2.9", Connected: true},
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("show devices all\n got %+v\nwant %+v", all, want)
	}
	conn, err := pc.Devices(ctx, true)
	if err != nil || len(conn) != 2 {
		t.Errorf("show devices connected: %+v %v", conn, err)
	}

	via := func(serial string) (*xmlapi.Client, error) {
		return xmlapi.Open(ctx, transports.Target{Name: "fw", Transport: "xmlapi", Serial: serial, Panorama: &pano}, panoOpts())
	}
	c1, err := via("007054000543213")
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	if f := c1.Facts(); f["hostname"] != "fw-east" || f["serial"] != "007054000543213" || f["via"] != "pano" {
		t.Errorf("facts through Panorama %v", f)
	}
	if _, err := c1.Run(ctx, transports.Command{CLI: "debug ike pcap on"}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := fw1.Clean(); ok {
		t.Error("debug ike pcap on through Panorama did not reach fw-east")
	}
	if ok, _ := fw2.Clean(); !ok {
		t.Error("debug ike pcap on through Panorama reached fw-west")
	}
	if _, err := c1.Run(ctx, transports.Command{CLI: "debug ike pcap off"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.Run(ctx, transports.Command{CLI: "show clock"}); err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	c1.PollInterval, c1.PollMax = time.Millisecond, time.Millisecond
	info, err := c1.Export(ctx, transports.ExportRequest{Category: "tech-support"}, &file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info.Name, "007054000543213") || file.Len() == 0 {
		t.Errorf("tech-support through Panorama: %+v, %d bytes", info, file.Len())
	}
	if n1, n2 := len(fw1.Log()), len(fw2.Log()); n1 == 0 || n2 != 0 {
		t.Errorf("fw-east received %d commands, fw-west %d: want all on fw-east", n1, n2)
	}
	for _, e := range fw1.Log() {
		if e.Via != "api:admin" {
			t.Errorf("command %q came via %q", e.CLI, e.Via)
		}
	}

	for serial, words := range map[string]string{
		"007054000543299": "no managed device with serial 007054000543299",
		"007054000543215": "managed device 007054000543215 is not connected to Panorama",
	} {
		_, err := via(serial)
		var ce *transports.ConnError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), words) {
			t.Errorf("serial %s: %v, want a connect error with %q", serial, err, words)
		}
	}
}

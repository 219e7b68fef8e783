package parse

import "testing"

func TestNoneCases(t *testing.T) {
	ipsec, err := Parse("ipsec-sa", "admin@fw> show vpn ipsec-sa tunnel x\n\nShow IPsec SA: Total 1 tunnels found. 0 ipsec sa found.\n", nil)
	if err != nil || ipsec["count"] != int64(0) || ipsec["tunnel_id"] != "" || len(ipsec["entries"].([]any)) != 0 || ipsec["tunnels"] != int64(1) {
		t.Errorf("ipsec-sa none: %v %v", ipsec, err)
	}
	ike, err := Parse("ike-sa", "There is no IKEv1 phase-1 SA found.\n\nThere is no IKEv1 phase-2 SA found.\n\nThere is no IKEv2 SA found.\n", nil)
	if err != nil || ike["established"] != false || ike["phase1_count"] != int64(0) || ike["phase2_count"] != int64(0) {
		t.Errorf("ike-sa none: %v %v", ike, err)
	}
	s, err := Parse("sessions", "--------\nID Application\n--------\n", nil)
	if err != nil || s["count"] != int64(0) || s["first_id"] != "" {
		t.Errorf("sessions none: %v %v", s, err)
	}
}

func TestClockFromAPIText(t *testing.T) {
	got, err := Parse("clock", "", "Thu Aug 27 10:00:00 UTC 2026\n")
	if err != nil || got["time"] != "2026-08-27T10:00:00Z" {
		t.Errorf("got %v %v", got, err)
	}
}

func TestCountersSummedAcrossDataplanes(t *testing.T) {
	in := "DP s1dp0:\nflow_ipsec_decap  10  1 info flow pktproc Decap\nflow_x_drop 2 0 drop flow parse Dropped\n" +
		"DP s1dp1:\nflow_ipsec_decap  5  2 info flow pktproc Decap\nflow_x_drop 3 0 drop flow parse Dropped\n"
	got, err := Parse("counters", in, nil)
	if err != nil || got["flow_ipsec_decap"] != int64(15) || got["drops"] != int64(5) || got["count"] != int64(2) {
		t.Errorf("got %v %v", got, err)
	}
}

// TestSystemResourcesFromAPIText reads show system resources as the XML
// API answers it (the top text as the character data of <result>), and
// leaves out the fields whose line is missing.
func TestSystemResourcesFromAPIText(t *testing.T) {
	top := "top - 10:02:36 up 2 days,  4:38,  1 user,  load average: 0.28, 0.31, 0.31\n" +
		"%Cpu(s):  3.4 us,  1.0 sy,  0.0 ni, 95.1 id,  0.3 wa,  0.0 hi,  0.2 si,  0.0 st\n\n" +
		"  PID USER      PR  NI    VIRT    RES    SHR S  %CPU %MEM     TIME+ COMMAND\n" +
		" 2918 root      20   0  412852  57012  16124 R   8.6  0.7   3:13.13 ikemgr\n"
	got, err := Parse("system-resources", "", top)
	if err != nil {
		t.Fatal(err)
	}
	ike, _ := got["processes"].(map[string]any)["ikemgr"].(map[string]any)
	if got["cpu_busy"] != 4.9 || got["load_15"] != 0.31 || ike["cpu"] != 8.6 || ike["mem"] != 0.7 {
		t.Errorf("got %v", got)
	}
	for _, k := range []string{"mem_total", "mem_used_pct", "tasks"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s = %v without its line", k, got[k])
		}
	}
	none, err := Parse("system-resources", "admin@fw> show system resources\n", nil)
	if err != nil || len(none) != 0 {
		t.Errorf("no output: %v %v", none, err)
	}
}

// TestIKESAEmptyAPIAnswer: over the XML API a gateway without an IKE SA
// answers an empty <result/> (centreon-plugins issue 2178: no output when
// the tunnel is down). That is an answer of the XML form saying "no SA",
// not an unrecognised text.
func TestIKESAEmptyAPIAnswer(t *testing.T) {
	got, err := Parse("ike-sa", "", "")
	if err != nil || got["form"] != "xml" || got["established"] != false || got["phase1_count"] != int64(0) || got["phase2_known"] != false {
		t.Errorf("got %v %v", got, err)
	}
	// An empty text answer over SSH says nothing: no form.
	got, err = Parse("ike-sa", "", nil)
	if err != nil || got["form"] != "" {
		t.Errorf("text: got %v %v", got, err)
	}
}

// TestFIBLookupUnknownLayout: an answer in a layout the parser does not
// know names no interface, but says nothing about the route: recognised
// is false, so no finding reads "no route" from it.
func TestFIBLookupUnknownLayout(t *testing.T) {
	got, err := Parse("fib-lookup", "admin@fw> test routing fib-lookup virtual-router default ip 10.1.1.1\n\n  10.1.1.1/32 -> ethernet1/1 (gw 10.0.0.1)\n", nil)
	if err != nil || got["found"] != false || got["recognised"] != false {
		t.Errorf("got %v %v", got, err)
	}
	got, err = Parse("fib-lookup", "virtual-router:   default\ndestination:      192.0.2.9\nresult:           no route found\n", nil)
	if err != nil || got["found"] != false || got["recognised"] != true {
		t.Errorf("no route: got %v %v", got, err)
	}
}

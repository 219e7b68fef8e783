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

package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestScpQuestionsAndFailures drives `scp export` directly: the host-key
// question for a new host (remembered once answered yes), the refused
// password asked three times, Ctrl-C at a question, and the failure texts
// before and after the password. Each failure is a *CommandError with the
// lines printed and is in the device's log.
func TestScpQuestionsAndFailures(t *testing.T) {
	const cli = "scp export tech-support to bob@10.0.0.5:/cases"
	tests := []struct {
		name    string
		faults  Faults
		answers []string // "^C" is Ctrl-C
		asked   []string // the end of each question, in order
		fail    string   // the *CommandError's text; "" means success
	}{
		{name: "known host", answers: []string{"pw"}, asked: []string{"bob@10.0.0.5's password: "}},
		{name: "new host, yes", faults: Faults{ScpNewHost: true}, answers: []string{"yes", "pw"},
			asked: []string{"Are you sure you want to continue connecting (yes/no)? ", "to the list of known hosts.\nbob@10.0.0.5's password: "}},
		{name: "new host, no", faults: Faults{ScpNewHost: true}, answers: []string{"no"},
			asked: []string{"(yes/no)? "}, fail: "Host key verification failed.\nlost connection"},
		{name: "password refused", faults: Faults{ScpRefusePassword: true}, answers: []string{"pw", "pw", "pw"},
			asked: []string{"bob@10.0.0.5's password: ", "Permission denied, please try again.\nbob@10.0.0.5's password: ", "Permission denied, please try again.\nbob@10.0.0.5's password: "},
			fail:  "bob@10.0.0.5: Permission denied (publickey,password).\nlost connection"},
		{name: "ctrl-c", faults: Faults{ScpRefusePassword: true}, answers: []string{"pw", "^C"},
			asked: []string{"password: ", "Permission denied, please try again.\nbob@10.0.0.5's password: "}, fail: "^C"},
		{name: "fails after the password", faults: Faults{ScpFail: "scp: Failed to open file /cases\nlost connection"}, answers: []string{"pw"},
			asked: []string{"password: "}, fail: "scp: Failed to open file /cases\nlost connection"},
		{name: "fails before any question", faults: Faults{ScpFail: "ssh: connect to host 10.0.0.5 port 22: Connection refused\nlost connection", ScpFailEarly: true},
			fail: "ssh: connect to host 10.0.0.5 port 22: Connection refused\nlost connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDevice(Options{ScpPassword: "pw", Faults: tt.faults})
			var asked []string
			answers := tt.answers
			ask := func(_ context.Context, q string, _ bool) (string, error) {
				asked = append(asked, q)
				if len(answers) == 0 {
					t.Fatalf("unexpected question %q", q)
				}
				a := answers[0]
				answers = answers[1:]
				if a == "^C" {
					return "", ErrInterrupted
				}
				return a, nil
			}
			out, err := d.ExecInteractive(context.Background(), cli, ask)
			if len(asked) != len(tt.asked) {
				t.Fatalf("asked %q, want %d questions", asked, len(tt.asked))
			}
			for i, q := range tt.asked {
				if !strings.HasSuffix(asked[i], q) {
					t.Errorf("question %d %q does not end with %q", i, asked[i], q)
				}
			}
			var ce *CommandError
			switch {
			case tt.fail == "":
				if err != nil || !strings.Contains(out, "... done") {
					t.Fatalf("got %q %v", out, err)
				}
			case !errors.As(err, &ce) || ce.Msg != tt.fail:
				t.Fatalf("got %q %v, want the failure %q", out, err, tt.fail)
			default:
				log := d.Log()
				if last := log[len(log)-1]; last.CLI != cli || last.Err != tt.fail {
					t.Errorf("log %+v", last)
				}
			}
		})
	}
	// A host whose key was accepted is not asked about again.
	d := NewDevice(Options{Faults: Faults{ScpNewHost: true}})
	n := 0
	ask := func(_ context.Context, q string, _ bool) (string, error) {
		n++
		if strings.HasSuffix(q, "(yes/no)? ") {
			return "yes", nil
		}
		return "pw", nil
	}
	for range 2 {
		if _, err := d.ExecInteractive(context.Background(), cli, ask); err != nil {
			t.Fatal(err)
		}
	}
	if n != 3 {
		t.Errorf("%d questions for two exports to one host, want 3", n)
	}
}

package engine

// This file runs for_each steps: one command per item, every item at each
// run of a repeat, each run recorded with its item.

import (
	"context"
	"fmt"
	"strings"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/transports"
)

// runForEach runs a run step with for_each. The list is evaluated once,
// when the step starts; each item's command is rendered once, with item
// set. Each run of a repeat sends every item's command in the order of the
// list, then waits the interval: all items are sampled at the same moment.
// An empty list skips the step. The loader refuses until and undo here.
func (ru *run) runForEach(ctx context.Context, s *playbook.Step) error {
	env := ru.env(nil)
	v, err := s.ForEach.Eval(env)
	if err != nil {
		return fmt.Errorf("for_each: %w", err)
	}
	items, err := playbook.Items(v)
	if err != nil {
		return fmt.Errorf("for_each %s: %w", strings.TrimSpace(s.ForEach.Src), err)
	}
	if len(items) == 0 {
		ru.skipBecause(s, fmt.Sprintf("for_each %s gave no items", strings.TrimSpace(s.ForEach.Src)))
		return nil
	}
	count, interval, err := repeatOf(s, env)
	if err != nil {
		return err
	}
	defer func() { ru.item = nil }()
	cmds := make([]transports.Command, len(items))
	for k := range items {
		ru.item = &items[k]
		if cmds[k], err = ru.command(s, ru.env(nil)); err != nil {
			return fmt.Errorf("item %s: %w", items[k], err)
		}
	}
	shownItems := make([]string, len(items))
	for k, it := range items {
		shownItems[k] = ru.redact(it)
	}
	ru.em.emit(Event{Type: EvForEach, Step: s.ID, Items: shownItems})
	// p is what a pause holds back: none when the items are sent once; at
	// is which item of which run each send is, with the step's plan
	// (what p starts as): none for one item sent once.
	var p *Pause
	var at *sendAt
	if count > 1 || len(items) > 1 {
		plan := ru.pauseOf(s, cmds, nil, items, count, interval)
		at = &sendAt{plan: plan, first: true}
		if count > 1 {
			q := *plan
			p = &q
		}
	}
	for i := 1; i <= count; i++ {
		ru.item = nil
		what := describeShown(s, cmds[0].Shown)
		if s.Name == "" && len(cmds) > 1 {
			what += fmt.Sprintf(" and its %d other items", len(cmds)-1)
		}
		if p != nil {
			p.Run = i
			if err := ru.pace(ctx, s, p, interval, what); err != nil {
				return ru.stoppedIn(ctx, s, p, err)
			}
		}
		for k := range items {
			if ctx.Err() != nil {
				// Stopped between two sends (at is the last one, taken):
				// those not sent are missing.
				if at != nil && (k > 0 || i > 1) {
					ru.dropRefused(at.plan)
					ru.m.Missing = append(ru.m.Missing, sendMissing(s.ID, at.plan, *at, 0, "ok", "")...)
				}
				return context.Cause(ctx)
			}
			ru.item = &items[k]
			if at != nil {
				at.run, at.item = i, k
			}
			if _, err := ru.send(ctx, s, cmds[k:k+1], nil, i, count, at); err != nil {
				return ru.sendStopped(ctx, s, at, fmt.Errorf("item %s: %w", items[k], err))
			}
		}
	}
	return nil
}

// itemOr is the current item, "" outside a for_each step.
func (ru *run) itemOr() string {
	if ru.item == nil {
		return ""
	}
	return *ru.item
}

// itemShown is itemOr as it is written down (journal, records, events):
// redacted, for an item may be a secret's value.
func (ru *run) itemShown() string {
	if ru.item == nil {
		return ""
	}
	return ru.redact(*ru.item)
}

// itemSuffix is what a run's output file name gets for its item:
// "-207" in steps/017-flow-207.txt. Named from the redacted item, like the
// command.
func (ru *run) itemSuffix() string {
	if ru.item == nil {
		return ""
	}
	return "-" + safeName(ru.redact(*ru.item))
}

// recordItem adds a run of out.Item to the item views of a step: the
// item's view is created on its first run, so the views follow the order
// of the list.
func recordItem(items []playbook.ItemView, out playbook.RunView, status, errText string) []playbook.ItemView {
	k := 0
	for k < len(items) && items[k].Item != out.Item {
		k++
	}
	if k == len(items) {
		items = append(items, playbook.ItemView{Item: out.Item})
	}
	iv := &items[k]
	iv.Status, iv.OK, iv.Error = status, status == "ok", errText
	iv.Text, iv.Data, iv.Fields = out.Text, out.Data, out.Fields
	iv.Runs = append(iv.Runs, out)
	return items
}

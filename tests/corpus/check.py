#!/usr/bin/env python3
"""Sanity checks for the eval corpus: python3 tests/corpus/check.py [ECD_JSONL]

Checks column counts, label values, duplicate texts across files, session JSON and
hand-off indices, and that ecd-dev-labels.tsv covers every buyer turn exactly once.
Prints counts per topic and per human label. Exits 1 on any error."""
import collections, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ECD = sys.argv[1] if len(sys.argv) > 1 else '/work/shared/data/ecd-dev-dialogues.jsonl'
TOPICS = ('promotion product shipping logistics payment aftersale invoice address '
          'human complaint smalltalk unknown').split()
errors = []


def err(msg):
    errors.append(msg)


def norm(s):
    return re.sub(r'\s+', '', s)


def read_tsv(name):
    rows = []
    with open(os.path.join(HERE, name), encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            cols = line.split('\t')
            if len(cols) != 3:
                err(f'{name}:{n}: {len(cols)} columns')
                continue
            topic, human, text = cols
            if topic not in TOPICS:
                err(f'{name}:{n}: bad topic {topic!r}')
            if human not in ('y', 'n'):
                err(f'{name}:{n}: bad human {human!r}')
            if not text.strip() or text != text.strip():
                err(f'{name}:{n}: empty text or stray whitespace')
            rows.append((topic, human, text, n))
    return rows


def report(title, rows):
    by_topic = collections.Counter(r[0] for r in rows)
    by_human = collections.Counter(r[1] for r in rows)
    print(f'{title}: {len(rows)} messages; human y={by_human["y"]} n={by_human["n"]}')
    for t in TOPICS:
        ys = sum(1 for r in rows if r[0] == t and r[1] == 'y')
        print(f'  {t:10s} {by_topic[t]:4d}  ({100.0 * by_topic[t] / max(1, len(rows)):4.1f}%)  y={ys}')


dev = read_tsv('messages.tsv')
hold = read_tsv('holdout.tsv')
seen = {}
for name, rows in (('messages.tsv', dev), ('holdout.tsv', hold)):
    for topic, human, text, n in rows:
        k = norm(text)
        if k in seen:
            err(f'{name}:{n}: duplicate text {text!r} (also {seen[k]})')
        seen[k] = f'{name}:{n}'
report('messages.tsv', dev)
report('holdout.tsv', hold)
report('total', dev + hold)

# sessions
hold_texts = {norm(r[2]) for r in hold}
nsess = nnull = nturns = 0
sess_topics = collections.Counter()
ids = set()
with open(os.path.join(HERE, 'sessions.jsonl'), encoding='utf-8') as f:
    for n, line in enumerate(f, 1):
        try:
            s = json.loads(line)
        except ValueError as e:
            err(f'sessions.jsonl:{n}: {e}')
            continue
        nsess += 1
        if s.get('id') in ids:
            err(f'sessions.jsonl:{n}: duplicate id')
        ids.add(s.get('id'))
        turns = s.get('turns')
        if not isinstance(turns, list) or not 1 <= len(turns) <= 7:
            err(f'sessions.jsonl:{n}: turns must be a list of 1-7')
            continue
        for t in turns:
            nturns += 1
            if not t.get('text') or t.get('topic') not in TOPICS:
                err(f'sessions.jsonl:{n}: bad turn {t}')
            sess_topics[t.get('topic')] += 1
            if norm(t.get('text', '')) in hold_texts:
                err(f'sessions.jsonl:{n}: turn text is in holdout.tsv: {t["text"]!r}')
        h = s.get('handoff', 'missing')
        if h is None:
            nnull += 1
        elif not isinstance(h, int) or not 0 <= h < len(turns):
            err(f'sessions.jsonl:{n}: handoff {h!r} out of range')
print(f'sessions.jsonl: {nsess} sessions, {nturns} turns, handoff null={nnull} set={nsess - nnull}')
print('  turn topics: ' + ' '.join(f'{t}={sess_topics[t]}' for t in TOPICS))

# ecd labels
dialogues = {}
with open(ECD, encoding='utf-8') as f:
    for line in f:
        d = json.loads(line)
        dialogues[d['id']] = d['turns']
labels = {}
ecd_rows = []
with open(os.path.join(HERE, 'ecd-dev-labels.tsv'), encoding='utf-8') as f:
    for n, line in enumerate(f, 1):
        line = line.rstrip('\n')
        if not line or line.startswith('#'):
            continue
        cols = line.split('\t')
        if len(cols) != 4:
            err(f'ecd-dev-labels.tsv:{n}: {len(cols)} columns')
            continue
        did, idx, topic, human = cols
        key = (did, int(idx))
        if key in labels:
            err(f'ecd-dev-labels.tsv:{n}: {key} labelled twice')
        if did not in dialogues or not 0 <= int(idx) < len(dialogues[did]):
            err(f'ecd-dev-labels.tsv:{n}: no such turn {key}')
        elif dialogues[did][int(idx)]['role'] != 'buyer':
            err(f'ecd-dev-labels.tsv:{n}: {key} is not a buyer turn')
        if topic not in TOPICS or human not in ('y', 'n'):
            err(f'ecd-dev-labels.tsv:{n}: bad label')
        labels[key] = (topic, human)
        ecd_rows.append((topic, human))
for did, turns in dialogues.items():
    for i, t in enumerate(turns):
        if t['role'] == 'buyer' and (did, i) not in labels:
            err(f'ecd-dev-labels.tsv: missing {did} turn {i}')
report('ecd-dev-labels.tsv (buyer turns)', ecd_rows)
ecd_sessions = {}
with open(os.path.join(HERE, 'ecd-dev-sessions.tsv'), encoding='utf-8') as f:
    for n, line in enumerate(f, 1):
        line = line.rstrip('\n')
        if not line or line.startswith('#'):
            continue
        did, h = line.split('\t')
        ecd_sessions[did] = h
        if did not in dialogues:
            err(f'ecd-dev-sessions.tsv:{n}: unknown dialogue {did}')
            continue
        ys = [i for (d, i), (t, hu) in labels.items() if d == did and hu == 'y']
        want = str(min(ys)) if ys else '-'
        if h != want:
            err(f'ecd-dev-sessions.tsv:{n}: {did} handoff {h} but first y turn is {want}')
if set(ecd_sessions) != set(dialogues):
    err('ecd-dev-sessions.tsv: does not list every dialogue exactly once')
print(f'ecd-dev-sessions.tsv: {len(ecd_sessions)} dialogues, handoff set='
      f'{sum(1 for h in ecd_sessions.values() if h != "-")} none={sum(1 for h in ecd_sessions.values() if h == "-")}')

for e in errors:
    print('ERROR', e, file=sys.stderr)
sys.exit(1 if errors else 0)

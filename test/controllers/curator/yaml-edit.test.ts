import { describe, it, expect } from 'vitest';
import { isMap, isScalar, isSeq, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { YamlEditor } from '../../../controllers/curator/yaml-edit.js';

const SRC = `# header comment
apiVersion: caduceus.dev/v1
kind: Proxy
metadata:
  name: api
spec:
  preload: ['a', "b", c]   # flow list
  keys:
  - valueFrom: {env: KEY}
  list:
  - one
  - two   # second
  - three
---
kind: Skill
metadata:
  name: s
spec:
  steps:
    - run: echo hi
`;

describe('YamlEditor', () => {
  it('replaces scalars keeping their quoting and removes block items by their lines', () => {
    const ed = new YamlEditor(SRC);
    const doc = ed.findDoc('Proxy', 'api')!.doc;
    const preload = doc.getIn(['spec', 'preload'], true) as YAMLSeq;
    const list = doc.getIn(['spec', 'list'], true) as YAMLSeq;
    ed.setFlowItems(preload, ['a', 'x y', 'c']);
    ed.removeSeqItem(list, 1);
    ed.replaceScalar(list.items[2] as Scalar, 'tres');
    expect(ed.result()).toBe(
      SRC.replace(`['a', "b", c]`, `[a, x y, c]`).replace('  - two   # second\n', '').replace('  - three', '  - tres'),
    );
  });

  it('appends items and adds keys with the indentation the file already uses', () => {
    const ed = new YamlEditor(SRC);
    const { doc, index } = ed.findDoc('Skill', 's')!;
    const spec = doc.get('spec', true) as YAMLMap;
    ed.appendSeqItems(doc.getIn(['spec', 'steps'], true) as YAMLSeq, [{ run: 'echo bye', timeout: '5s' }]);
    ed.addMapPair(spec, 'aliases', ['old-s'], ed.seqIndent(index));
    expect(ed.seqIndent(0)).toBe(0);
    const out = ed.result();
    expect(
      out.endsWith(
        `spec:\n  steps:\n    - run: echo hi\n    - run: echo bye\n      timeout: 5s\n  aliases:\n    - old-s\n`,
      ),
    ).toBe(true);
    expect(out.startsWith(SRC.slice(0, SRC.indexOf('---')))).toBe(true);
  });

  it('removes one document of a multi-document file and returns its source for the archive', () => {
    const ed = new YamlEditor(SRC);
    const { index } = ed.findDoc('Skill', 's')!;
    expect(ed.documentSource(index)).toBe('kind: Skill\nmetadata:\n  name: s\nspec:\n  steps:\n    - run: echo hi\n');
    ed.removeDocument(index);
    expect(ed.result()).toBe(SRC.slice(0, SRC.indexOf('---')));
    expect(isMap(ed.docs[0]!.contents) && isScalar(ed.docs[0]!.get('kind', true)) && !isSeq(ed.docs[0]!.contents)).toBe(
      true,
    );
  });
});

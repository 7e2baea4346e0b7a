// YamlEditor is CodeMirror with YAML highlighting, pipeline-aware
// completion and the server's validation findings as lint diagnostics.
import { useEffect, useMemo, useRef } from 'react';
import CodeMirror from '@uiw/react-codemirror';
import { EditorView, keymap } from '@codemirror/view';
import { yaml as yamlLang } from '@codemirror/lang-yaml';
import { autocompletion, startCompletion } from '@codemirror/autocomplete';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { useComputedColorScheme } from '@mantine/core';
import type { Finding } from './api';
import { findingRange, pipelineCompletionSource, type AdapterInfo } from './yamlContext';
import classes from './pipelines.module.css';

/** diagnosticsFor turns findings on text into CodeMirror diagnostics. */
export function diagnosticsFor(text: string, findings: Finding[]): Diagnostic[] {
  return findings.map((f) => {
    const { from, to } = findingRange(text, f);
    return {
      from,
      to,
      severity: f.severity === 'error' ? 'error' : f.severity === 'warning' ? 'warning' : 'info',
      source: f.code,
      message: f.remediation ? `${f.message}\nFix: ${f.remediation}` : f.message,
    };
  });
}

export interface YamlEditorProps {
  value: string;
  onChange?: (v: string) => void;
  readOnly?: boolean;
  height?: string;
  /** Adapters for completion. */
  adapters?: AdapterInfo[];
  /** Findings of validating `findingsFor`; shown only while the editor holds that text. */
  findings?: Finding[];
  findingsFor?: string;
  onView?: (view: EditorView | null) => void;
  label?: string;
}

export function YamlEditor({ value, onChange, readOnly, height = 'clamp(360px, 62vh, 900px)', adapters, findings, findingsFor, onView, label }: YamlEditorProps) {
  const scheme = useComputedColorScheme('light');
  const viewRef = useRef<EditorView | null>(null);
  const adaptersRef = useRef<AdapterInfo[]>(adapters ?? []);
  adaptersRef.current = adapters ?? [];

  const extensions = useMemo(() => {
    const ext = [yamlLang(), EditorView.lineWrapping, EditorView.contentAttributes.of({ 'aria-label': label ?? 'Pipeline YAML' })];
    if (!readOnly) {
      ext.push(
        autocompletion({ override: [pipelineCompletionSource(() => adaptersRef.current)], icons: true }),
        keymap.of([{ key: 'Mod-i', run: startCompletion }]),
        lintGutter(),
      );
    }
    return ext;
  }, [readOnly, label]);

  useEffect(() => {
    const view = viewRef.current;
    if (!view || findings === undefined || findingsFor === undefined) return;
    const text = view.state.doc.toString();
    if (text !== findingsFor) return;
    view.dispatch(setDiagnostics(view.state, diagnosticsFor(text, findings)));
  }, [findings, findingsFor, value]);

  return (
    <div className={classes.editor}>
      <CodeMirror
        value={value}
        onChange={onChange}
        height={height}
        theme={scheme}
        editable={!readOnly}
        readOnly={readOnly}
        extensions={extensions}
        basicSetup={{ autocompletion: false, foldGutter: true, highlightActiveLine: !readOnly, tabSize: 2 }}
        indentWithTab={!readOnly}
        onCreateEditor={(view) => {
          viewRef.current = view;
          onView?.(view);
        }}
      />
    </div>
  );
}

/** moveTo puts the cursor at a finding and scrolls it into view. */
export function moveTo(view: EditorView | null, f: Pick<Finding, 'line' | 'column'>) {
  if (!view) return;
  const { from } = findingRange(view.state.doc.toString(), f);
  view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
  view.focus();
}

import { Children, isValidElement, type ReactNode } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';
import { Anchor, Badge, Group, Stack, Text, Tooltip, Typography, UnstyledButton } from '@mantine/core';
import type { Citation } from './types';

const citePrefix = '#cite-';

/**
 * withCitationLinks turns `[n]` (and `[n, m]`) into links the renderer
 * shows as badges; real links `[text](url)` and code spans are left alone.
 */
export function withCitationLinks(text: string): string {
  // Split on code spans/blocks so that `[1]` inside code stays literal.
  return text
    .split(/(```[\s\S]*?(?:```|$)|`[^`\n]*`)/g)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(/\[(\d+(?:\s*,\s*\d+)*)\](?![(:[])/g, (_, list: string) =>
            list
              .split(',')
              .map((n) => `[${n.trim()}](${citePrefix}${n.trim()})`)
              .join(''),
          ),
    )
    .join('');
}

function textOf(children: ReactNode): string {
  return Children.toArray(children)
    .map((c) => (typeof c === 'string' || typeof c === 'number' ? String(c) : isValidElement(c) ? '' : ''))
    .join('');
}

/** AnswerText renders an answer's Markdown with clickable citation badges. */
export function AnswerText({
  text,
  sources,
  onCite,
}: {
  text: string;
  sources: Citation[];
  onCite: (c: Citation) => void;
}) {
  const components: Components = {
    a({ href, children }) {
      if (href?.startsWith(citePrefix)) {
        const n = Number(href.slice(citePrefix.length));
        const src = sources[n - 1];
        if (!src) {
          return <Text span>[{textOf(children) || n}]</Text>;
        }
        return (
          <Tooltip label={[src.title, src.heading].filter(Boolean).join(' › ') || `Source ${n}`} withinPortal>
            <Badge
              component="button"
              type="button"
              size="sm"
              radius="sm"
              variant="light"
              mx={2}
              style={{ cursor: 'pointer', verticalAlign: 'baseline', textTransform: 'none' }}
              onClick={() => onCite(src)}
              aria-label={`Citation ${n}: ${src.title || src.heading || 'source'}`}
            >
              {n}
            </Badge>
          </Tooltip>
        );
      }
      return (
        <Anchor href={href} target="_blank" rel="noreferrer">
          {children}
        </Anchor>
      );
    },
  };
  return (
    <Typography className="markdown-preview" style={{ wordBreak: 'break-word', fontSize: 'var(--mantine-font-size-sm)' }}>
      <ReactMarkdown remarkPlugins={[remarkGfm]} components={components}>
        {withCitationLinks(text)}
      </ReactMarkdown>
    </Typography>
  );
}

/** SourceList lists the passages an answer was given, cited ones marked. */
export function SourceList({ sources, onOpen }: { sources: Citation[]; onOpen: (c: Citation) => void }) {
  if (sources.length === 0) return null;
  return (
    <Stack gap={4} mt="xs" component="section" aria-label="Sources">
      <Text size="xs" fw={600} c="dimmed" tt="uppercase">
        Sources
      </Text>
      {sources.map((s, i) => (
        <UnstyledButton
          key={`${s.segment_id}-${i}`}
          onClick={() => onOpen(s)}
          aria-label={`Source ${s.index || i + 1}: ${s.title || s.heading || s.segment_id}`}
          style={{ borderRadius: 'var(--mantine-radius-sm)' }}
        >
          <Group gap={6} wrap="nowrap" style={{ opacity: s.cited ? 1 : 0.7 }}>
            <Badge size="xs" variant={s.cited ? 'filled' : 'outline'} radius="sm" style={{ flexShrink: 0 }}>
              {s.index || i + 1}
            </Badge>
            <Text size="xs" truncate="end" style={{ minWidth: 0, flex: 1 }}>
              {s.title || 'Untitled'}
              {s.heading ? ` › ${s.heading}` : ''}
            </Text>
            <Text size="xs" c="dimmed" style={{ flexShrink: 0 }}>
              {s.score.toFixed(3)}
            </Text>
          </Group>
        </UnstyledButton>
      ))}
    </Stack>
  );
}

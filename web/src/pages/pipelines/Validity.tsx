import { Badge, Code, Group, Stack, Text, ThemeIcon, Tooltip, UnstyledButton } from '@mantine/core';
import { IconAlertTriangle, IconCircleX, IconInfoCircle } from '@tabler/icons-react';
import type { Finding, ValidationReport } from './api';
import classes from './pipelines.module.css';

/** ValidityBadge says "valid" or "N errors" for a validation report. */
export function ValidityBadge({ report, size = 'sm' }: { report: ValidationReport | undefined | null; size?: 'xs' | 'sm' | 'md' }) {
  if (!report) return null;
  if (report.is_valid) {
    const w = report.warning_count;
    return (
      <Badge color={w ? 'yellow' : 'green'} variant="light" size={size}>
        {w ? `valid · ${w} warning${w === 1 ? '' : 's'}` : 'valid'}
      </Badge>
    );
  }
  const n = report.error_count;
  return (
    <Badge color="red" variant="light" size={size}>
      {n} error{n === 1 ? '' : 's'}
    </Badge>
  );
}

function severityIcon(sev: string) {
  if (sev === 'error')
    return (
      <ThemeIcon color="red" variant="light" size="sm" aria-hidden>
        <IconCircleX size={14} />
      </ThemeIcon>
    );
  if (sev === 'warning')
    return (
      <ThemeIcon color="yellow" variant="light" size="sm" aria-hidden>
        <IconAlertTriangle size={14} />
      </ThemeIcon>
    );
  return (
    <ThemeIcon color="blue" variant="light" size="sm" aria-hidden>
      <IconInfoCircle size={14} />
    </ThemeIcon>
  );
}

/** FindingsList lists validation findings; clicking one calls onSelect. */
export function FindingsList({ findings, onSelect }: { findings: Finding[]; onSelect?: (f: Finding) => void }) {
  return (
    <Stack gap={4} role="list" aria-label="Validation findings">
      {findings.map((f, i) => {
        const body = (
          <Group gap="xs" wrap="nowrap" align="flex-start">
            {severityIcon(f.severity)}
            <Stack gap={0} style={{ minWidth: 0 }}>
              <Text size="sm" style={{ wordBreak: 'break-word' }}>
                <Text span fw={600} c={f.severity === 'error' ? 'red' : f.severity === 'warning' ? 'yellow.7' : undefined}>
                  {f.line > 0 ? `Line ${f.line}${f.column > 0 ? `:${f.column}` : ''}` : 'Document'}
                </Text>{' '}
                <Code>{f.code}</Code> {f.message}
              </Text>
              {f.remediation && (
                <Text size="xs" c="dimmed" style={{ wordBreak: 'break-word' }}>
                  Fix: {f.remediation}
                </Text>
              )}
              {f.path && (
                <Text size="xs" c="dimmed" ff="monospace">
                  {f.path}
                </Text>
              )}
            </Stack>
          </Group>
        );
        return (
          <div role="listitem" key={`${f.code}-${f.line}-${f.column}-${f.path}-${i}`}>
            {onSelect ? (
              <Tooltip label="Go to this line" openDelay={600} position="top-start">
                <UnstyledButton
                  onClick={() => onSelect(f)}
                  aria-label={`Go to ${f.code} at line ${f.line}: ${f.message}`}
                  p={6}
                  w="100%"
                  className={classes.finding}
                >
                  {body}
                </UnstyledButton>
              </Tooltip>
            ) : (
              <div style={{ padding: 6 }}>{body}</div>
            )}
          </div>
        );
      })}
    </Stack>
  );
}

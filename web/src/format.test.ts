import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatDuration, shortId } from './format';

describe('format', () => {
  it('formats bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(formatBytes(undefined)).toBe('—');
  });
  it('formats durations', () => {
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(2500)).toBe('2.5 s');
    expect(formatDuration(125_000)).toBe('2 m 5 s');
    expect(formatDuration(2 * 3600_000 + 60_000)).toBe('2 h 1 m');
  });
  it('formats relative times', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    expect(formatAgo('2026-01-01T00:09:58Z', now)).toBe('just now');
    expect(formatAgo('2026-01-01T00:09:30Z', now)).toBe('30 s ago');
    expect(formatAgo('2026-01-01T00:00:00Z', now)).toBe('10 m ago');
  });
  it('shortens ids', () => {
    expect(shortId('01a23622-ccb6-7156-8356-6f3966576007')).toBe('01a23622…6007');
    expect(shortId('nightly')).toBe('nightly');
  });
});

import { useEffect, useRef } from 'react';
import { follow, type SSEEvent } from './sse';

/**
 * useEventStream follows a GET event stream while url is set, reconnecting
 * with Last-Event-ID; `finished` tells it the stream closed on purpose
 * (e.g. after a terminal status) so it stops.
 */
export function useEventStream(url: string | null, onEvent: (e: SSEEvent) => void, finished?: () => boolean): void {
  const handler = useRef(onEvent);
  const done = useRef(finished);
  handler.current = onEvent;
  done.current = finished;
  useEffect(() => {
    if (!url) return;
    const ctl = new AbortController();
    void follow(url, {
      signal: ctl.signal,
      onEvent: (e) => handler.current(e),
      done: () => done.current?.() ?? false,
    });
    return () => ctl.abort();
  }, [url]);
}

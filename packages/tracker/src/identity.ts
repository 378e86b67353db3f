import { uuid } from './util.js';

/** Storage keys (localStorage: ids that outlive the tab; sessionStorage: the session). */
export const KEYS = {
  anonymousId: 'trk_aid',
  userId: 'trk_uid',
  role: 'trk_role',
  session: 'trk_sid',
} as const;

interface Store {
  get(key: string): string | null;
  set(key: string, value: string): void;
  del(key: string): void;
}

/** Web storage, or memory where it is unavailable (blocked cookies, sandboxed iframes, Safari private mode). */
function store(kind: 'localStorage' | 'sessionStorage'): Store {
  const memory: Record<string, string> = {};
  let s: Storage | undefined;
  try {
    s = window[kind];
    s.setItem('trk_test', '1');
    s.removeItem('trk_test');
  } catch {
    s = undefined;
  }
  return {
    get: (k) => (s ? s.getItem(k) : (memory[k] ?? null)),
    set: (k, v) => {
      try {
        if (s) s.setItem(k, v);
        else memory[k] = v;
      } catch {
        memory[k] = v;
      }
    },
    del: (k) => {
      s?.removeItem(k);
      delete memory[k];
    },
  };
}

export interface Identity {
  /** The identified user id, else the anonymous id. */
  userId(): string;
  role(): string | undefined;
  /** The session id, renewed after `timeoutMin` minutes without activity; each call is activity. */
  session(): string;
  identify(userId: string, role: string | undefined): void;
  reset(): void;
}

/** Who is tracked: configured or identified user, else an anonymous id; and the current session. */
export function createIdentity(
  userId: string | undefined,
  role: string | undefined,
  timeoutMin: number,
): Identity {
  const local = store('localStorage');
  const tab = store('sessionStorage');
  const anonymousId = () => {
    let id = local.get(KEYS.anonymousId);
    if (!id) {
      id = `anon-${uuid()}`;
      local.set(KEYS.anonymousId, id);
    }
    return id;
  };
  const identify = (id: string, r: string | undefined) => {
    local.set(KEYS.userId, id);
    if (r) local.set(KEYS.role, r);
    else local.del(KEYS.role);
  };
  // A user id given by the page (server-rendered log-in) replaces whatever was stored, role included.
  if (userId) identify(userId, role);
  else if (role) local.set(KEYS.role, role);
  return {
    userId: () => local.get(KEYS.userId) || anonymousId(),
    role: () => local.get(KEYS.role) || undefined,
    session() {
      const now = Date.now();
      const [id, last] = (tab.get(KEYS.session) || '').split('|');
      const sid = id && now - Number(last) < timeoutMin * 60_000 ? id : uuid();
      tab.set(KEYS.session, `${sid}|${now}`);
      return sid;
    },
    identify,
    reset() {
      for (const k of [KEYS.anonymousId, KEYS.userId, KEYS.role]) local.del(k);
      tab.del(KEYS.session);
    },
  };
}

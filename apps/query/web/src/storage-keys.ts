/** localStorage keys of the dashboard (one place, shared by the bundles). */
export const THEME_STORAGE = 'tracker.theme';
export const KEY_STORAGE = 'tracker.readKey';

// Loaded as a classic script in <head> so a stored theme choice applies before the first paint.
import { THEME_STORAGE } from './storage-keys.js';

try {
  const theme = localStorage.getItem(THEME_STORAGE);
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
} catch {
  // No storage: follow prefers-color-scheme.
}

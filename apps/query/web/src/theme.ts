// The theme follows prefers-color-scheme until the viewer picks one with the toggle; the choice is
// kept in localStorage and applied before first paint by theme-init.ts.
import { THEME_STORAGE } from './storage-keys.js';

type Theme = 'light' | 'dark';

function systemTheme(): Theme {
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function currentTheme(): Theme {
  const forced = document.documentElement.dataset.theme;
  return forced === 'light' || forced === 'dark' ? forced : systemTheme();
}

export function setupThemeToggle(button: HTMLButtonElement, onChange: () => void): void {
  const label = () => {
    const current = currentTheme();
    const next = current === 'dark' ? 'light' : 'dark';
    // The icon shows what a click switches to (a moon in light, a sun in dark).
    button.dataset.scheme = current;
    button.setAttribute('aria-label', `Switch to ${next} theme`);
    button.title = `Switch to ${next} theme`;
  };
  label();
  button.addEventListener('click', () => {
    const next: Theme = currentTheme() === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem(THEME_STORAGE, next);
    } catch {
      // No storage: the choice lasts for this page.
    }
    label();
    onChange();
  });
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (!document.documentElement.dataset.theme) {
      label();
      onChange();
    }
  });
}

// CSV cells the query service writes (exports, a funnel step's units).

/**
 * Spreadsheets run a cell that starts with = + - @ (or tab / CR, which they skip) as a formula. Such
 * text cells get a leading apostrophe, which spreadsheets show as text (OWASP "CSV injection").
 */
export function neutralizeFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

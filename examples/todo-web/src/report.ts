/** Shows a failure where the user sees it (and in the console), instead of losing it. */
export function reportError(error: unknown): void {
  console.error(error);
  const banner = document.querySelector<HTMLElement>('[data-testid="error"]');
  if (!banner) return;
  banner.textContent = error instanceof Error ? error.message : String(error);
  banner.hidden = false;
}

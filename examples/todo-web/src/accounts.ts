/**
 * The demo accounts of `pnpm start:accounts`: the tokens of `examples/sync-server/demo/tokens.json`.
 * A real app gets its token from its sign-in (a JWT from its identity provider) and never ships
 * one; these exist so that two people, or two browser windows, can try per-user data at once.
 */
export interface Account {
  /** The user id the server knows the account by; also the local namespace of its data. */
  name: string;
  token: string;
  /** Lists this account shares with others (`lists/<id>` on the server). */
  sharedLists: readonly string[];
}

export const DEMO_ACCOUNTS: readonly Account[] = [
  { name: 'alice', token: 'demo-token-alice', sharedLists: ['household'] },
  { name: 'bob', token: 'demo-token-bob', sharedLists: ['household'] },
  { name: 'carol', token: 'demo-token-carol', sharedLists: [] },
];

/** The query parameter that picks an account: `/?account=alice`. */
const PARAMETER = 'account';

/** The account the page was opened for, if any (`?account=…`). */
export function accountOf(location: Location): Account | undefined {
  const name = new URLSearchParams(location.search).get(PARAMETER);
  return DEMO_ACCOUNTS.find((account) => account.name === name);
}

/**
 * Opens the app as another account (or as nobody). A reload, not a switch in place: the page
 * then holds one account's storage, token and socket from its first line to its last.
 */
export function switchTo(location: Location, account: Account | undefined): void {
  const url = new URL(location.href);
  if (account) url.searchParams.set(PARAMETER, account.name);
  else url.searchParams.delete(PARAMETER);
  location.assign(url.toString());
}

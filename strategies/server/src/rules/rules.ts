import { ERROR_CODES, LocalFirstError } from '@local-first/core';
import type { AuthenticatedUser } from '../engine/auth.js';
import type { JsonPath, Location } from './json-locations.js';

/**
 * Who a rule lets in. In a JSON file: `"anyone"` (every authenticated user), `{"users": […]}`,
 * `{"claim": "projects", "includes": "{projectId}"}` (the claim is a list holding the value),
 * `{"claim": "org", "equals": "{org}"}`, or `{"anyOf": […]}`. Values may name the rule's
 * `{parameters}` and `{userId}`. A rules module may also give a function.
 */
export type Condition =
  /** Every authenticated user. */
  | 'anyone'
  /** The users named. */
  | {
      /** Their user ids. */
      users: readonly string[];
    }
  /** Users whose claim is a list that holds the value. */
  | {
      /** The claim to read. */
      claim: string;
      /** The value the list must hold. */
      includes: string;
    }
  /** Users whose claim is the value. */
  | {
      /** The claim to read. */
      claim: string;
      /** The value it must be. */
      equals: string;
    }
  /** Users any of the conditions lets in. */
  | {
      /** The conditions, at least one. */
      anyOf: readonly Condition[];
    }
  /** A rules module's own test of the user and the rule's parameters. */
  | ((
      user: AuthenticatedUser,
      parameters: Readonly<Record<string, string>>,
    ) => boolean | Promise<boolean>);

/** One rule: a repository name as clients use it, and who may do what with it. */
export interface RepositoryRule {
  /** Segments separated by `/`; a segment `{name}` stands for any one segment. */
  repository: string;
  /** Each user has a copy of its own, stored apart from everyone else's; only its owner uses it. */
  private?: boolean;
  /** Who may read (writers may read too). Default: nobody but the writers. */
  read?: Condition;
  /** Who may write. Default: nobody (read-only). */
  write?: Condition;
}

/** The document of `--rules`: rules in order, the first that matches a name decides. */
export interface RulesDocument {
  /** The format's version; only 1 exists. */
  version?: 1;
  /** The rules, in order. */
  repositories: readonly RepositoryRule[];
}

/** What a user may do with a repository name, and where its events are kept. */
export interface Access {
  /** The repository in the store: the name itself, or the user's own copy for a private one. */
  stored: string;
  /** Whether the user may catch up on and receive its events. */
  read: boolean;
  /** Whether the user may push events to it. */
  write: boolean;
}

/** One thing wrong with a rules document. */
export interface RulesProblem {
  /** `repositories[1].read.claim` */
  field: string;
  /** What is wrong there. */
  message: string;
  /** Where the field is in the file, for a JSON rules file. */
  location?: Location;
}

/**
 * A rules document that cannot be used: code `invalid_rules`; the message lists every problem,
 * with its line, and `problems` (also `details.problems`) holds them.
 */
export class RulesError extends LocalFirstError {
  constructor(
    /** The file, or the name given to `Rules.compile`. */
    readonly source: string,
    /** Every problem found. */
    readonly problems: readonly RulesProblem[],
    options: { cause?: unknown } = {},
  ) {
    super(
      ERROR_CODES.invalidRules,
      `${source}: ${problems
        .map(
          (problem) =>
            `${problem.location ? `line ${problem.location.line}, column ${problem.location.column}: ` : ''}${problem.field}: ${problem.message}`,
        )
        .join('; ')}`,
      { ...options, details: { source, problems } },
    );
  }
}

/** Stored names of private copies start with this; no name a client uses may. */
export const PRIVATE_PREFIX = '~';
/** Where the private copy of `name` owned by `userId` is stored. */
export function privateCopyName(userId: string, name: string): string {
  return `${privateCopyPrefix(userId)}${name}`;
}

/** What the stored names of every private copy owned by `userId` start with. */
export function privateCopyPrefix(userId: string): string {
  return `${PRIVATE_PREFIX}${encodeURIComponent(userId)}/`;
}

const PARAMETER = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Why a repository name cannot be used under rules, or undefined when it can: empty segments,
 * `.` and `..`, control characters and the reserved `~` prefix are refused.
 */
export function repositoryNameProblem(name: string): string | undefined {
  if (name.startsWith(PRIVATE_PREFIX))
    return `names starting with "${PRIVATE_PREFIX}" are reserved for private copies`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'the name holds a control character';
  for (const segment of name.split('/')) {
    if (segment === '') return 'the name has an empty segment (a leading, trailing or double "/")';
    if (segment === '.' || segment === '..') return `the name has a "${segment}" segment`;
  }
  return undefined;
}

interface CompiledRule {
  segments: readonly ({ literal: string } | { parameter: string })[];
  private: boolean;
  read: Condition | undefined;
  write: Condition | undefined;
}

/** Rules ready to answer: `access(user, name)` is undefined when no rule matches (deny). */
export class Rules {
  private constructor(private readonly rules: readonly CompiledRule[]) {}

  /**
   * Checks a document (from JSON or a module) and compiles it. `locate` names the line of a
   * field in the file it came from.
   */
  static compile(document: unknown, source: string, locate?: (path: JsonPath) => Location): Rules {
    const problems: RulesProblem[] = [];
    const problem = (path: JsonPath, message: string) =>
      problems.push({
        field: fieldName(path),
        message,
        ...(locate ? { location: locate(path) } : {}),
      });
    const compiled: CompiledRule[] = [];
    if (!isObject(document)) problem([], 'the rules must be an object with "repositories"');
    else {
      for (const key of Object.keys(document))
        if (key !== 'version' && key !== 'repositories') problem([key], 'unknown field');
      if (document.version !== undefined && document.version !== 1)
        problem(['version'], 'only version 1 exists');
      if (!Array.isArray(document.repositories))
        problem(['repositories'], 'must be a list of rules');
      else
        for (const [index, rule] of document.repositories.entries()) {
          const made = compileRule(rule, ['repositories', index], problem);
          if (made) compiled.push(made);
        }
    }
    if (problems.length > 0) throw new RulesError(source, problems);
    return new Rules(compiled);
  }

  /** What `user` may do with the repository `name`; undefined when no rule matches it. */
  async access(user: AuthenticatedUser, name: string): Promise<Access | undefined> {
    if (repositoryNameProblem(name) !== undefined) return undefined;
    const segments = name.split('/');
    for (const rule of this.rules) {
      const parameters = match(rule, segments);
      if (!parameters) continue;
      if (rule.private) {
        return {
          stored: privateCopyName(user.userId, name),
          read: true,
          write: true,
        };
      }
      const context = { ...parameters, userId: user.userId };
      const write = rule.write !== undefined && (await holds(rule.write, user, context));
      const read = write || (rule.read !== undefined && (await holds(rule.read, user, context)));
      return { stored: name, read, write };
    }
    return undefined;
  }

  /** Why nobody may use `name` (when `access` is undefined): its name, or no rule for it. */
  refusal(name: string): string {
    const problem = repositoryNameProblem(name);
    if (problem !== undefined) return `"${name}" cannot be used: ${problem}`;
    return `no rule allows "${name}"`;
  }
}

function compileRule(
  rule: unknown,
  path: JsonPath,
  problem: (path: JsonPath, message: string) => void,
): CompiledRule | undefined {
  if (!isObject(rule)) {
    problem(path, 'a rule must be an object with "repository"');
    return undefined;
  }
  for (const key of Object.keys(rule))
    if (!['repository', 'private', 'read', 'write'].includes(key))
      problem([...path, key], 'unknown field');
  const name = rule.repository;
  if (typeof name !== 'string' || name === '') {
    problem([...path, 'repository'], 'must be a non-empty repository name');
    return undefined;
  }
  const segments: CompiledRule['segments'][number][] = [];
  const parameters = new Set<string>();
  const nameProblem = repositoryNameProblem(name.replace(PLACEHOLDER, 'x'));
  if (nameProblem) problem([...path, 'repository'], nameProblem);
  for (const segment of name.split('/')) {
    const parameter = PARAMETER.exec(segment)?.[1];
    if (parameter === undefined) {
      if (/[{}]/.test(segment))
        problem([...path, 'repository'], `"${segment}": a parameter is a whole segment, {name}`);
      segments.push({ literal: segment });
    } else if (parameter === 'userId' || parameters.has(parameter)) {
      problem(
        [...path, 'repository'],
        `the parameter {${parameter}} is ${parameter === 'userId' ? 'built in' : 'named twice'}`,
      );
    } else {
      parameters.add(parameter);
      segments.push({ parameter });
    }
  }
  if (rule.private !== undefined && typeof rule.private !== 'boolean')
    problem([...path, 'private'], 'must be true or false');
  const isPrivate = rule.private === true;
  if (isPrivate && (rule.read !== undefined || rule.write !== undefined))
    problem(
      [...path, 'private'],
      'a private repository is read and written by its owner only: drop "read" and "write"',
    );
  if (isPrivate && parameters.size > 0)
    problem([...path, 'repository'], 'a private repository takes no parameters');
  if (!isPrivate && rule.read === undefined && rule.write === undefined)
    problem(
      path,
      'give "read", "write" or "private": true (a rule that lets nobody in says nothing)',
    );
  for (const field of ['read', 'write'] as const)
    if (rule[field] !== undefined)
      checkCondition(rule[field], [...path, field], parameters, problem);
  return {
    segments,
    private: isPrivate,
    read: rule.read as Condition | undefined,
    write: rule.write as Condition | undefined,
  };
}

function checkCondition(
  condition: unknown,
  path: JsonPath,
  parameters: ReadonlySet<string>,
  problem: (path: JsonPath, message: string) => void,
): void {
  if (condition === 'anyone' || typeof condition === 'function') return;
  if (!isObject(condition)) {
    problem(path, 'must be "anyone", {"users"}, {"claim", "includes"|"equals"} or {"anyOf"}');
    return;
  }
  const keys = Object.keys(condition).sort().join(',');
  const placeholders = (value: unknown, field: string) => {
    if (typeof value !== 'string') return problem([...path, field], 'must be a string');
    for (const [, name] of value.matchAll(PLACEHOLDER))
      if (name !== 'userId' && !parameters.has(name!))
        problem([...path, field], `{${name}} is not a parameter of this rule`);
  };
  if (keys === 'users') {
    const users = condition.users;
    if (!Array.isArray(users) || users.some((user) => typeof user !== 'string' || user === ''))
      problem([...path, 'users'], 'must be a list of user ids');
  } else if (keys === 'claim,includes' || keys === 'claim,equals') {
    if (typeof condition.claim !== 'string' || condition.claim === '')
      problem([...path, 'claim'], 'must be the name of a claim');
    const field = keys === 'claim,includes' ? 'includes' : 'equals';
    placeholders(condition[field], field);
  } else if (keys === 'anyOf') {
    if (!Array.isArray(condition.anyOf) || condition.anyOf.length === 0)
      problem([...path, 'anyOf'], 'must be a non-empty list of conditions');
    else
      for (const [index, inner] of condition.anyOf.entries())
        checkCondition(inner, [...path, 'anyOf', index], parameters, problem);
  } else {
    problem(
      path,
      `unknown condition with ${keys || 'no fields'}: use users, claim + includes|equals, or anyOf`,
    );
  }
}

function match(
  rule: CompiledRule,
  segments: readonly string[],
): Record<string, string> | undefined {
  if (segments.length !== rule.segments.length) return undefined;
  const parameters: Record<string, string> = {};
  for (const [index, part] of rule.segments.entries()) {
    const segment = segments[index]!;
    if ('literal' in part) {
      if (part.literal !== segment) return undefined;
    } else parameters[part.parameter] = segment;
  }
  return parameters;
}

async function holds(
  condition: Condition,
  user: AuthenticatedUser,
  context: Readonly<Record<string, string>>,
): Promise<boolean> {
  if (condition === 'anyone') return true;
  if (typeof condition === 'function') return (await condition(user, context)) === true;
  if ('users' in condition) return condition.users.includes(user.userId);
  if ('anyOf' in condition) {
    for (const inner of condition.anyOf) if (await holds(inner, user, context)) return true;
    return false;
  }
  const claim = user.claims?.[condition.claim];
  if ('includes' in condition) {
    const wanted = fill(condition.includes, context);
    return Array.isArray(claim) && claim.some((value) => String(value) === wanted);
  }
  return claim !== undefined && String(claim) === fill(condition.equals, context);
}

function fill(template: string, context: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => context[name] ?? whole);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fieldName(path: JsonPath): string {
  if (path.length === 0) return '(the document)';
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`,
    )
    .join('');
}

/**
 * The gate's endpoint: GET {base}/models through the openai SDK, the one call that proves the
 * endpoint answers and takes the key without spending a token; then whether the model is listed.
 */
import type { ResolvedSetting } from '../config.js';
import { messageOf } from '../errors.js';
import { createClient } from '../llm.js';
import { fail, networkCause, ok, seconds, warn, type Check } from './check.js';
import { withoutCredentials } from './settings.js';

export interface LlmCheckInput {
  baseURL: ResolvedSetting;
  apiKey: ResolvedSetting;
  model: ResolvedSetting | undefined;
  /** A second model to look for: codex's, when it talks to the same endpoint. */
  codexModel?: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function llmChecks(input: LlmCheckInput): Promise<Check[]> {
  const base = withoutCredentials(input.baseURL.value);
  const keyVars = 'OPENAI_API_KEY (or OPENWEBUI_API_KEY / LITELLM_API_KEY)';
  const sdk = await import('openai');
  const client = await createClient(
    { baseURL: input.baseURL, apiKey: input.apiKey, model: input.model ?? { value: '', from: 'MODEL', source: 'default' } },
    { timeoutMs: input.timeoutMs, maxRetries: 0 },
  );
  const started = Date.now();
  let ids: string[];
  try {
    const page = await client.models.list({ signal: input.signal, timeout: input.timeoutMs, maxRetries: 0 });
    ids = page.data.map((m) => m.id);
  } catch (error) {
    if (error instanceof sdk.AuthenticationError || error instanceof sdk.PermissionDeniedError) {
      return [fail('llm', `${base} rejected the key from ${input.apiKey.from} (HTTP ${error.status})`, `Check ${keyVars}: the key may be wrong, expired, or for another endpoint.`)];
    }
    if (error instanceof sdk.APIConnectionTimeoutError) {
      return [fail('llm', `${base} did not answer in ${seconds(input.timeoutMs)}`, 'Check OPENAI_BASE_URL (or OPENWEBUI_BASE_URL / LITELLM_BASE_URL), the network and any proxy.')];
    }
    if (error instanceof sdk.APIConnectionError) {
      return [fail('llm', `cannot reach ${base} (${networkCause(error.cause ?? error)})`, 'Check OPENAI_BASE_URL (or OPENWEBUI_BASE_URL / LITELLM_BASE_URL) and the network.')];
    }
    if (error instanceof sdk.APIError) {
      // It answered, so it is there; some proxies just do not list models.
      return [warn('llm', `${base} answered GET /models with HTTP ${error.status ?? '?'}: cannot tell whether the key and model work`, 'Check the endpoint serves the OpenAI API at this base URL (usually ending in /v1, /api for OpenWebUI).')];
    }
    return [fail('llm', `GET ${base}/models failed: ${messageOf(error).slice(0, 200)}`, 'Check OPENAI_BASE_URL and the network.')];
  }
  const checks: Check[] = [ok('llm', `${base} answers and takes the key (${ids.length} model${ids.length === 1 ? '' : 's'}, ${Date.now() - started} ms)`)];
  const wanted: Array<[string, string]> = [];
  if (input.model) wanted.push(['model', input.model.value]);
  if (input.codexModel && input.codexModel !== input.model?.value) wanted.push(['codex model', input.codexModel]);
  for (const [name, model] of wanted) {
    if (ids.includes(model)) checks.push(ok(name, `${model} is listed`));
    else {
      const some = ids.slice(0, 8).join(', ');
      checks.push(warn(name, `${model} is not among the ${ids.length} models ${base} lists${some ? ` (${some}${ids.length > 8 ? ', …' : ''})` : ''}`, `Check ${name === 'model' ? 'MODEL' : 'CODEX_MODEL'}; some endpoints serve models they do not list, so this may still work.`));
    }
  }
  return checks;
}

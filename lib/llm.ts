/**
 * The Chat Completions client for the gate, through the openai SDK (OpenAI, OpenWebUI and
 * LiteLLM all speak it). The SDK is imported here only, and only when a stage needs it.
 */
import type OpenAI from 'openai';
import { JgoError, EXIT, messageOf } from './errors.js';
import { configOf, type OpenAISettings, type Settings } from './config.js';

export interface LlmOptions {
  timeoutMs: number;
  maxRetries: number;
}

export function llmOptions(settings: Settings): LlmOptions {
  const config = configOf(settings);
  return { timeoutMs: config.JGO_LLM_TIMEOUT_S * 1000, maxRetries: config.JGO_LLM_RETRIES };
}

export async function createClient(openai: OpenAISettings, options: LlmOptions): Promise<OpenAI> {
  const { default: OpenAIClient } = await import('openai');
  return new OpenAIClient({
    baseURL: openai.baseURL.value,
    apiKey: openai.apiKey.value,
    timeout: options.timeoutMs,
    // The SDK retries 408/409/429/5xx and connection errors with backoff, honouring Retry-After.
    maxRetries: options.maxRetries,
  });
}

/** Maps an SDK failure to a stable code; the message never includes the key. */
export async function llmError(error: unknown, baseURL: string): Promise<JgoError> {
  if (error instanceof JgoError) return error;
  const sdk = await import('openai');
  if (error instanceof sdk.APIConnectionTimeoutError) {
    return new JgoError('llm_timeout', `the model endpoint ${baseURL} did not answer in time`, EXIT.failed, {
      hint: 'Raise JGO_LLM_TIMEOUT_S, or check the endpoint.',
    });
  }
  if (error instanceof sdk.APIConnectionError) {
    return new JgoError('llm_unreachable', `cannot reach the model endpoint ${baseURL}`, EXIT.failed, {
      hint: 'Check OPENAI_BASE_URL (or OPENWEBUI_BASE_URL / LITELLM_BASE_URL) and the network.',
    });
  }
  if (error instanceof sdk.AuthenticationError || error instanceof sdk.PermissionDeniedError) {
    return new JgoError('llm_auth_failed', `the model endpoint rejected the API key (HTTP ${error.status})`, EXIT.failed, {
      hint: 'Check OPENAI_API_KEY (or OPENWEBUI_API_KEY / LITELLM_API_KEY).',
    });
  }
  if (error instanceof sdk.APIError) {
    return new JgoError('llm_error', `the model endpoint failed: HTTP ${error.status ?? '?'} ${messageOf(error).slice(0, 200)}`, EXIT.failed);
  }
  return new JgoError('llm_error', `the model call failed: ${messageOf(error)}`, EXIT.failed);
}

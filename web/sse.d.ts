// Types of web/sse.js for the TypeScript tests that import it (the browser loads the .js directly).
export interface SseParser {
  push(text: string): void;
  end(): void;
}
export function createSseParser(onEvent: (data: string, event: string) => void): SseParser;
export function readSseJson(response: Response, onJson: (payload: any) => void): Promise<{ completed: boolean }>;

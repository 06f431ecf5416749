// A reader of one server's `GET /v1/notices` stream: the highest head it announced, and how
// often the stream had to be opened again.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class NoticeWatcher {
  head = -1;
  /** Times the stream ended or failed and was opened again. */
  reopened = 0;
  #closed = new AbortController();
  #waiters = new Set();

  constructor(url, token) {
    this.done = this.#run(url, token);
  }

  async #run(url, token) {
    while (!this.#closed.signal.aborted) {
      try {
        const response = await fetch(`${url}/v1/notices`, { headers: { authorization: `Bearer ${token}` }, signal: this.#closed.signal });
        if (response.status === 200) {
          const decoder = new TextDecoder();
          let buffer = '';
          for await (const chunk of response.body) {
            buffer += decoder.decode(chunk, { stream: true });
            let newline;
            while ((newline = buffer.indexOf('\n')) >= 0) {
              const line = buffer.slice(0, newline);
              buffer = buffer.slice(newline + 1);
              if (line.startsWith('data:')) this.#heard(JSON.parse(line.slice(5)).head);
            }
          }
        } else {
          await response.body?.cancel();
        }
      } catch {
        // Closed, or the server is away: open it again.
      }
      if (this.#closed.signal.aborted) return;
      this.reopened += 1;
      await sleep(100);
    }
  }

  #heard(head) {
    if (head <= this.head) return;
    this.head = head;
    for (const w of this.#waiters) if (head >= w.head) w.resolve();
  }

  /** Resolves once a head of at least `head` was announced; rejects after `ms`. */
  waitFor(head, ms) {
    if (this.head >= head) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        head,
        resolve: () => {
          clearTimeout(timer);
          this.#waiters.delete(w);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(w);
        reject(new Error(`no notice of head ${head} within ${ms} ms (last: ${this.head})`));
      }, ms);
      this.#waiters.add(w);
    });
  }

  close() {
    this.#closed.abort();
    return this.done;
  }
}

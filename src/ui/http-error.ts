/** A request the viewer refuses, with the HTTP status and the message its JSON body carries. @internal */
export class UiHttpError extends Error {
  override name = "UiHttpError";

  constructor(
    readonly status: 400 | 403 | 404 | 405,
    message: string,
  ) {
    super(message);
  }
}

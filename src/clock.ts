/** The current time, injected so that tests can fix it instead of sleeping. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

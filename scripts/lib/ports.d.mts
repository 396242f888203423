/** `count` ports free on 127.0.0.1 together with `port + twinOffset` (one offset or several). */
export declare function choosePorts(count: number, options: { first: number; last: number; twinOffset: number | number[] }): Promise<number[]>;

using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace Api.Jwt;

/// <summary>
/// Opt-in JWT bearer authentication (docs/RECIPES.md, Add authentication). Features put their endpoints behind
/// <see cref="ApiPolicy"/>: open to anyone while <c>Authentication:Jwt:SigningKey</c> is unset, a valid token once it is
/// set. The scheme is named by the policy and never made the default, so the job dashboard's cookie and the metrics and
/// dashboard keys (their own guards, an <c>Authorization: Bearer</c> that is no JWT) are untouched.
/// </summary>
public static class JwtExtensions
{
    public const string ApiPolicy = "api";

    public static IHostApplicationBuilder AddJwt(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<JwtOptions>(JwtOptions.Section);
        // Read while the services are added: whether the scheme exists at all is decided once, at start-up.
        var enabled = builder.Configuration.ReadValidatedOptions<JwtOptions>(JwtOptions.Section).Enabled;
        builder.Services.AddAuthorizationBuilder().AddPolicy(ApiPolicy, policy =>
        {
            if (enabled)
            {
                policy.AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme).RequireAuthenticatedUser();
            }
            else
            {
                policy.RequireAssertion(_ => true);
            }
        });
        if (enabled)
        {
            builder.Services.AddAuthentication().AddJwtBearer();
            builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
                .Configure<IOptions<JwtOptions>>((bearer, jwt) => Configure(bearer, jwt.Value));
        }

        return builder;
    }

    private static void Configure(JwtBearerOptions bearer, JwtOptions jwt)
    {
        bearer.MapInboundClaims = false; // claims keep their JWT names (sub, not a SOAP-era URI)
        bearer.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = jwt.Issuer,
            ValidAudience = jwt.Audience,
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(jwt.SigningKey!)),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ClockSkew = jwt.ClockSkew,
        };
        bearer.Events = new JwtBearerEvents
        {
            // A browser cannot set headers on a WebSocket: SignalR's JavaScript client sends the token as access_token.
            // Only on WebSocket upgrades, so the token stays out of ordinary URLs and their logs. By the header: the
            // WebSocket feature (WebSockets.IsWebSocketRequest) is added later, inside the hub's endpoint.
            OnMessageReceived = context =>
            {
                if (string.Equals(context.Request.Headers.Upgrade, "websocket", StringComparison.OrdinalIgnoreCase)
                    && context.Request.Query["access_token"] is [{ Length: > 0 } token])
                {
                    context.Token = token;
                }

                return Task.CompletedTask;
            },
        };
    }
}

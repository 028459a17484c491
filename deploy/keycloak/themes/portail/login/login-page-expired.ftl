<#-- Two plain choices instead of Keycloak's two "click here" links. -->
<#import "template.ftl" as layout>
<@layout.registrationLayout; section>
    <#if section = "header">
        ${msg("pageExpiredTitle")}
    <#elseif section = "form">
        <p id="instruction1">${msg("pageExpiredMsg1")}</p>
        <ul class="portail-choices">
            <li><a id="loginRestartLink" href="${url.loginRestartFlowUrl}">${msg("pageExpiredRestart")}</a></li>
            <li><a id="loginContinueLink" href="${url.loginAction}">${msg("pageExpiredContinue")}</a></li>
        </ul>
    </#if>
</@layout.registrationLayout>
